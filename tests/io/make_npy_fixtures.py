#!/usr/bin/python3
"""Writes the small .npy fixtures that tests/io/test_npy.cpp reads, with NumPy itself.

Run from anywhere with the system python (which has numpy):  /usr/bin/python3 tests/io/make_npy_fixtures.py
The values are chosen to be exact in their dtype, so the C++ test can compare them with ==.
The outputs are committed; rerunning must reproduce them byte for byte (np.save is deterministic).
"""
import os

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


def save(name, array):
    np.save(os.path.join(OUT, name), array)


def main():
    os.makedirs(OUT, exist_ok=True)
    # Plain np.save files, one per dtype detgrad reads (format 1.0, C order, little-endian).
    save("f4_2x3.npy", np.array([[1.0, -2.5, 3.25], [0.0, 0.125, -7.0]], dtype="<f4"))
    save("f8_scalar.npy", np.array(3.141592653589793, dtype="<f8"))  # shape ()
    save("f2_4.npy", np.array([1.0, -2.0, 65504.0, 2.0**-24], dtype="<f2"))  # bits 3C00 C000 7BFF 0001
    save("i8_3.npy", np.array([-1, 0, 2**40 + 5], dtype="<i8"))
    save("i4_2x2.npy", np.array([[1, -2], [2**31 - 1, -(2**31)]], dtype="<i4"))
    save("u1_5.npy", np.array([0, 1, 127, 128, 255], dtype="|u1"))
    save("b1_4.npy", np.array([True, False, False, True]))
    save("f4_0x3.npy", np.zeros((0, 3), dtype="<f4"))  # no elements, header only
    # np.save adds 21 - len(str(shape[0])) spaces so the first dimension can grow in place; usually that
    # vanishes into the padding to 64 bytes, but for this 15-d shape it pushes the header from 128 to
    # 192 bytes, so a writer that skips it is caught by the byte-for-byte test.
    save("f4_15d.npy", np.array([0.5, -1.0], dtype="<f4").reshape((2,) + (1,) * 14))
    # Format 2.0 (4-byte header length), written explicitly since np.save only uses it for huge headers.
    with open(os.path.join(OUT, "v2_f4_3.npy"), "wb") as f:
        np.lib.format.write_array(f, np.array([1.5, -0.5, 2.0], dtype="<f4"), version=(2, 0))
    # Files detgrad must refuse with a clear message.
    save("fortran_f4_2x3.npy", np.asfortranarray(np.arange(6, dtype="<f4").reshape(2, 3)))
    save("bigendian_f4_3.npy", np.array([1.0, 2.0, 3.0], dtype=">f4"))
    for name in sorted(os.listdir(OUT)):
        print(f"{name:24s} {os.path.getsize(os.path.join(OUT, name)):4d} bytes")


if __name__ == "__main__":
    main()
