#!/usr/bin/env python3
"""Self-test of the C++ heuristics in size_budget.py: plain asserts on synthetic snippets.

  /usr/bin/python3 scripts/test_size_budget.py      (prints "ok: N tests", exit status 0)
"""
import io
import json
import os
import sys
import tempfile
from contextlib import redirect_stdout

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import size_budget as sb  # noqa: E402


def funcs(src):
    """{name: (line, end, lines)} of the functions in src; asserts the braces balanced."""
    found, warnings = sb.find_functions(src)
    assert not warnings, warnings
    out = {}
    for f in found:
        assert f["name"] not in out, f"duplicate {f['name']}"
        out[f["name"]] = (f["line"], f["end"], f["lines"])
    return out


def test_nested_lambdas():
    src = """\
namespace dg {
int outer(int x) {
  auto f = [&](int a) {
    auto g = [a](int b) { return a + b; };
    return g(a);
  };
  return f(x);
}
}  // namespace dg
"""
    assert funcs(src) == {"outer": (2, 8, 7)}


def test_class_with_inline_methods():
    src = """\
struct Counter {
  Counter() = default;
  explicit Counter(int n) : n_(n) {}
  int get() const { return n_; }
  void bump(int by)
  {
    n_ += by;
  }
  bool operator()(int v) const noexcept { return v == n_; }
  ~Counter() { n_ = 0; }

 private:
  int n_ = 0;
  int m_{3};
};
"""
    assert funcs(src) == {
        "Counter::Counter": (3, 3, 1),
        "Counter::get": (4, 4, 1),
        "Counter::bump": (5, 8, 4),
        "Counter::operator()": (9, 9, 1),
        "Counter::~Counter": (10, 10, 1),
    }


def test_macro_with_braces():
    # The DG_DISPATCH_FLOAT shape: a multi-line #define whose body opens and closes braces per line.
    src = """\
#define DG_DISPATCH_FLOAT(DT, OPNAME, T, ...)           \\
  switch (DT) {                                         \\
    case f32: { using T = float; __VA_ARGS__; break; }  \\
    default: fail(OPNAME, ": expected float {");        \\
  }
#define OPEN {
int f(int x) {
  DG_DISPATCH_FLOAT(x, "f", T, { x += 1; });
  return x;
}
"""
    assert funcs(src) == {"f": (7, 10, 4)}


def test_raw_string_with_braces():
    src = '''\
const char* kJson = R"({"a": [1, {"b": 2}]})";
const char* kOther = R"delim(
  } } { ) "
)delim";
int g() {
  const char* s = "}{ \\" {";
  char c = '{';
  char d = '\\'';
  int big = 1'000'000;
  return s[0] + c + d + big;  // } {
  /* { */
}
'''
    assert funcs(src) == {"g": (5, 12, 8)}


def test_if_block_is_not_a_function():
    src = """\
void h(bool a) {
  if (a) {
    for (int i = 0; i < 3; ++i) {
      while (false) {
      }
    }
  } else {
    switch (1) { case 1: { break; } }
  }
  try { h(false); } catch (...) { }
}
"""
    assert funcs(src) == {"h": (1, 11, 11)}


def test_constructor_with_initialiser_list():
    src = """\
Widget::Widget(int w, std::vector<int> v)
    : Base<int, float>(w),
      width_{w},
      values_(std::move(v)),
      table_{{1, 2}, {3, 4}},
      cb_([](int x) { return x; }) {
  init();
}

Box::Box() : a_{1}, b_{2} {}
"""
    assert funcs(src) == {"Widget::Widget": (1, 8, 8), "Box::Box": (10, 10, 1)}


def test_function_over_budget():
    body = "".join(f"  x += {i};\n" for i in range(85))
    src = "template <class T>\nT long_one(T x)\n{\n" + body + "  return x;\n}\nint short_one() { return 1; }\n"
    got = funcs(src)
    assert got["long_one"] == (2, 90, 89)
    assert got["short_one"] == (91, 91, 1)
    with tempfile.TemporaryDirectory() as root:
        os.makedirs(os.path.join(root, "autograd"))
        os.makedirs(os.path.join(root, "tools"))
        with open(os.path.join(root, "autograd", "long.cpp"), "w") as f:
            f.write(src)
        with open(os.path.join(root, "tools", "big.cpp"), "w") as f:
            f.write("int a;\n" * 601)
        out = io.StringIO()
        with redirect_stdout(out):
            status = sb.main(["--root", root])
        text = out.getvalue()
        assert status == 1, text
        assert "autograd/long.cpp:2  long_one  89 lines" in text, text
        assert "tools/big.cpp:1  (file)  601 lines" in text, text
        assert text.splitlines()[-1] == ("size budget: 0 files over 600 lines, 1 functions over 80 lines "
                                         "(library: autograd/ layers/ detectors/)"), text
        out = io.StringIO()
        with redirect_stdout(out):
            status = sb.main(["--root", root, "--json"])
        report = json.loads(out.getvalue())
        assert status == 1 and report["status"] == 1
        assert [f["name"] for f in report["library"]["functions_over"]] == ["long_one"]
        assert [f["path"] for f in report["other"]["files_over"]] == ["tools/big.cpp"]
        os.remove(os.path.join(root, "autograd", "long.cpp"))  # only tools/ over budget: exit status 0
        with redirect_stdout(io.StringIO()):
            assert sb.main(["--root", root]) == 0


def test_scopes_that_are_not_functions():
    src = """\
extern "C" {
int c_api(void) { return 0; }
}
namespace a::b {
enum class Color : int { red, green };
struct Point { int x, y; };
const int kTable[] = {1, 2, 3};
static const Point kOrigin{0, 0};
inline namespace v1 {
template <class T>
auto twice(T x) -> decltype(x + x) {
  return x + x;
}
}
}  // namespace a::b
"""
    assert funcs(src) == {"c_api": (2, 2, 1), "twice": (11, 13, 3)}


def test_preprocessor_branches_and_lambdas_outside_functions():
    src = """\
#if defined(__GNUC__)
static void k(int x) {
#else
static void k(int x, int y) {
#endif
  (void)x;
}
#if 0
}}}
#endif
static const bool registered = register_op("k", [](int x) {
  return x > 0;
});
Tensor Op::operator+(const Tensor& t) const& { return t; }
void ft() try {
  run();
} catch (...) {
  recover();
}
"""
    assert funcs(src) == {
        "k": (2, 7, 6),
        "<lambda in register_op>": (11, 13, 3),
        "Op::operator+": (14, 14, 1),
        "ft": (15, 19, 5),
    }


def test_repository_scan_is_balanced():
    # Every library source parses with balanced braces (a stray brace would shift every later function).
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if os.path.isdir(os.path.join(root, "autograd")):
        _, _, warnings = sb.scan_tree(root, sb.LIBRARY_DIRS + sb.OTHER_DIRS)
        assert not warnings, warnings


if __name__ == "__main__":
    tests = [(k, v) for k, v in sorted(globals().items()) if k.startswith("test_") and callable(v)]
    for name, fn in tests:
        fn()
    print(f"ok: {len(tests)} tests")
