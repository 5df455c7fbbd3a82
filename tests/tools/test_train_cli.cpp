// `detgrad train / eval / detect / demo`: bad input ends with exit status 1 and a message that names
// what is wrong (the training itself is tested in tests/detectors/test_centernet_train.cpp; the
// short demo runs as a ctest entry).
#include <doctest/doctest.h>

#include <filesystem>

#include "tests/support.h"

namespace fs = std::filesystem;

TEST_CASE("train/eval/detect cli: clear errors") {
  const std::string d = fresh_temp_dir("train_cli", "errors");
  std::string out;
  CHECK(run_detgrad("train centernet --steps 5 --out " + d + "/r --input-size 50", out) == 1);
  CHECK_MESSAGE(out.find("--input-size must be a multiple of 32, got 50") != std::string::npos, out);
  CHECK(run_detgrad("train centernet --resume --out " + d + "/none", out) == 1);
  CHECK_MESSAGE(out.find("does not exist (nothing to resume)") != std::string::npos, out);
  CHECK(run_detgrad("train centernet --steps 5 --data /no/such/dir --out " + d + "/r", out) == 1);
  CHECK_MESSAGE(out.find("/no/such/dir") != std::string::npos, out);
  CHECK(run_detgrad("eval", out) == 1);
  CHECK_MESSAGE(out.find("give a model (RUN_DIR or weights), or both --gt") != std::string::npos, out);
  CHECK(run_detgrad("eval " + d, out) == 1);
  CHECK_MESSAGE(out.find("without model.safetensors or checkpoint.safetensors") != std::string::npos, out);
  CHECK(run_detgrad("detect " + d + "/missing.safetensors x.png --out " + d + "/o", out) == 1);
  CHECK_MESSAGE(out.find("missing.safetensors") != std::string::npos, out);
  CHECK(run_detgrad("demo --steps 5 --batch 0 --out " + d + "/demo", out) == 1);
  CHECK_MESSAGE(out.find("--batch must be >= 1, got 0") != std::string::npos, out);
}
