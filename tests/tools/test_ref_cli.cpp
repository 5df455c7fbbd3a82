// `detgrad ref` end to end: files in, files out, exit codes, messages.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "autograd/io/tensor_npy.h"
#include "autograd/ops.h"
#include "tests/support.h"

using namespace dg;
namespace fs = std::filesystem;

namespace {

const std::string kBin = std::string(DETGRAD_BINARY_DIR) + "/detgrad";
int run(const std::string& args, std::string& out) { return run_detgrad(args, out); }

fs::path tmpdir(const char* name) {
  fs::path d = fs::temp_directory_path() / (std::string("detgrad_test_") + name + "_" + std::to_string(getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}
}  // namespace

TEST_CASE("ref cli: matmul in f64 writes out.npy and both gradients") {
  fs::path d = tmpdir("matmul");
  Tensor a = tensor({1, 2, 3, 4, 5, 6}, {2, 3}, DType::f64), b = tensor({1, 0, 0, 1, 1, 1}, {3, 2}, DType::f64);
  Tensor go = tensor({1, 2, 3, 4}, {2, 2}, DType::f64);
  io::save_npy((d / "a.npy").string(), a);
  io::save_npy((d / "b.npy").string(), b);
  io::save_npy((d / "g.npy").string(), go);
  std::string out;
  int st = run("ref matmul --in input=" + (d / "a.npy").string() + " --in other=" + (d / "b.npy").string() +
                   " --grad-out " + (d / "g.npy").string() + " --out " + (d / "out").string(),
               out);
  CHECK_MESSAGE(st == 0, out);
  Tensor o = io::load_npy((d / "out/out.npy").string());
  CHECK(o.dtype() == DType::f64);
  // [[1,2,3],[4,5,6]] @ [[1,0],[0,1],[1,1]] = [[4,5],[10,11]]
  CHECK(o.to_vector() == std::vector<double>{4, 5, 10, 11});
  // grad_input = g @ b^T = [[1,2],[3,4]] @ [[1,0,1],[0,1,1]] = [[1,2,3],[3,4,7]]
  CHECK(io::load_npy((d / "out/grad_input.npy").string()).to_vector() == std::vector<double>{1, 2, 3, 3, 4, 7});
  // grad_other = a^T @ g = [[1,4],[2,5],[3,6]] @ [[1,2],[3,4]] = [[13,18],[17,24],[21,30]]
  CHECK(io::load_npy((d / "out/grad_other.npy").string()).to_vector() == std::vector<double>{13, 18, 17, 24, 21, 30});
  fs::remove_all(d);
}

TEST_CASE("ref cli: several outputs and list inputs") {
  fs::path d = tmpdir("multi");
  io::save_npy((d / "x.npy").string(), tensor({3, 1, 2, 0, 5, 4}, {2, 3}, DType::f32));
  std::string out;
  CHECK(run("ref max --in input=" + (d / "x.npy").string() + " --attr dim=1 --out " + (d / "o").string(), out) == 0);
  CHECK(io::load_npy((d / "o/out0.npy").string()).to_vector() == std::vector<double>{3, 5});
  Tensor idx = io::load_npy((d / "o/out1.npy").string());
  CHECK(idx.dtype() == DType::i64);
  CHECK(idx.to_vector() == std::vector<double>{0, 1});
  CHECK(io::load_npy((d / "o/grad_input.npy").string()).to_vector() == std::vector<double>{1, 0, 0, 0, 1, 0});
  CHECK(run("ref cat --in tensors=" + (d / "x.npy").string() + " --in tensors=" + (d / "x.npy").string() +
                " --attr dim=1 --out " + (d / "c").string(),
            out) == 0);
  CHECK(io::load_npy((d / "c/out.npy").string()).shape() == Shape{2, 6});
  CHECK(fs::exists(d / "c/grad_tensors_0.npy"));
  CHECK(fs::exists(d / "c/grad_tensors_1.npy"));
  fs::remove_all(d);
}

TEST_CASE("ref cli: bad input gives a clear error and a non-zero exit") {
  fs::path d = tmpdir("errors");
  io::save_npy((d / "x.npy").string(), tensor({1, 2}, {2}, DType::f32));
  std::string x = (d / "x.npy").string(), o = (d / "o").string(), out;
  CHECK(run("ref frobnicate --in input=" + x + " --out " + o, out) == 1);
  CHECK(out.find("unknown op 'frobnicate'") != std::string::npos);
  CHECK(run("ref add --in input=" + x + " --out " + o, out) == 1);
  CHECK(out.find("missing input or attribute 'other'") != std::string::npos);
  // The library says what is missing; the CLI adds the flag that gives it (tools/flags.h).
  CHECK(run("ref softmax --in input=" + x + " --out " + o, out) == 1);
  CHECK_MESSAGE(out.find("softmax: missing attribute 'dim' (pass --attr dim=VALUE)") != std::string::npos, out);
  CHECK(run("ref exp --in input=" + x + " --in other=" + x + " --out " + o, out) == 1);
  CHECK_MESSAGE(out.find("exp: unknown input 'other' (see detgrad ref --list)") != std::string::npos, out);
  CHECK(run("ref softmax --in input=" + x + " --attr dim=abc --out " + o, out) == 1);
  CHECK(out.find("attribute dim='abc' is not an integer") != std::string::npos);
  CHECK(run("ref exp --in input=" + (d / "missing.npy").string() + " --out " + o, out) == 1);
  CHECK(out.find("missing.npy") != std::string::npos);
  CHECK(run("ref exp --in input" + x + " --out " + o, out) == 1);
  CHECK(out.find("must look like NAME=VALUE") != std::string::npos);
  CHECK(run("ref --list", out) == 0);
  CHECK(out.find("binary_cross_entropy_with_logits") != std::string::npos);
  fs::remove_all(d);
}

TEST_CASE("cli: --version names the ISA and thread count") {
  std::string out;
  CHECK(run("--version", out) == 0);
  CHECK(out.find("detgrad 0.1.0") != std::string::npos);
  CHECK(out.find("isa: ") != std::string::npos);
  CHECK(out.find("openmp threads: ") != std::string::npos);
  CHECK(run("--version 2>&1; DETGRAD_ISA=scalar " + kBin + " --version", out) == 0);
  CHECK(out.find("isa: scalar") != std::string::npos);
}
