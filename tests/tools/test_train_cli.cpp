// `detgrad train / eval / detect / demo`: bad input ends with exit status 1 and a message that names
// what is wrong, and FCOS / RetinaNet runs end to end (the training itself is tested in
// tests/detectors/test_pipeline.cpp; the
// short demo runs as a ctest entry).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

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

TEST_CASE("train/eval/detect cli: fcos and retinanet end to end on a tiny run, --explain, --nms") {
  const std::string d = fresh_temp_dir("train_cli", "fcos_retina");
  std::string out;
  const std::string tiny =
      " --steps 2 --batch 4 --train-size 8 --val-size 4 --warmup 1 --workers 1 --width 0.125 --fpn 16"
      " --head-depth 1 --model-opt gn_groups=8 ";
  REQUIRE_MESSAGE(run_detgrad("train fcos" + tiny + "--out " + d + "/fcos", out) == 0, out);
  CHECK_MESSAGE(out.find("model: FCOS, ResNet-18 x0.125 + FPN P3-P5 x16, head 1 x 16") != std::string::npos, out);
  CHECK_MESSAGE(out.find(" cls ") != std::string::npos, out);  // the progress bar shows the loss parts
  const std::string retina =
      " --steps 2 --batch 4 --train-size 8 --val-size 4 --warmup 1 --workers 1 --width 0.125"
      " --fpn 16 --head-depth 1 ";
  REQUIRE_MESSAGE(run_detgrad("train retinanet" + retina + "--out " + d + "/retina", out) == 0, out);
  CHECK_MESSAGE(out.find("model: RetinaNet") != std::string::npos, out);
  // without --lr each detector trains at its own default, recorded in config.json
  CHECK(nlohmann::json::parse(std::ifstream(d + "/fcos/config.json"))["lr"] == 2e-3);
  CHECK(nlohmann::json::parse(std::ifstream(d + "/retina/config.json"))["lr"] == 1e-3);
  // eval with another NMS kind, and its JSON names the model
  REQUIRE_MESSAGE(run_detgrad("eval " + d + "/retina --nms diou --json " + d + "/e.json --no-per-category", out) == 0,
                  out);
  CHECK_MESSAGE(out.find("NMS diou (IoU 0.5)") != std::string::npos, out);
  // --explain: the assignment pictures and the NMS log, from the FCOS model
  REQUIRE_MESSAGE(run_detgrad("detect " + d + "/fcos --explain --scene 1 --out " + d + "/ex", out) == 0, out);
  for (const char* f : {"explain_fcos.png", "explain_retinanet.png", "explain_nms.txt"})
    CHECK_MESSAGE(fs::exists(fs::path(d) / "ex" / f), f);
  CHECK_MESSAGE(out.find("FCOS positives") != std::string::npos, out);
  CHECK_MESSAGE(out.find("RetinaNet matched anchors") != std::string::npos, out);
  // model options that the detector does not have, and --show-heatmap on a non-CenterNet
  CHECK(run_detgrad("train fcos --steps 1 --up 8 8 8 --out " + d + "/bad", out) == 1);
  CHECK_MESSAGE(out.find("fcos: unknown model option 'up_channels'") != std::string::npos, out);
  CHECK(run_detgrad("detect " + d + "/fcos x.png --show-heatmap --out " + d + "/o", out) == 1);
  CHECK_MESSAGE(out.find("this model (fcos) has no heatmap") != std::string::npos, out);
  CHECK(run_detgrad("detect " + d + "/fcos --out " + d + "/o", out) == 1);
  CHECK_MESSAGE(out.find("detect: give image files (or --explain)") != std::string::npos, out);
  CHECK(run_detgrad("detect " + d + "/fcos --explain --scene -1 --out " + d + "/o", out) == 1);
  CHECK_MESSAGE(out.find("--scene must be >= 0, got -1") != std::string::npos, out);
  CHECK(run_detgrad("train fcos --steps 1 --model-opt fpn_channels --out " + d + "/bad", out) == 1);
  CHECK_MESSAGE(out.find("--model-opt wants KEY=VALUE, got 'fpn_channels'") != std::string::npos, out);
  CHECK(run_detgrad("train fcos --steps 1 --lr -1 --out " + d + "/bad", out) == 1);
  CHECK_MESSAGE(out.find("--lr must be positive (0: the detector's default), got -1") != std::string::npos, out);
  CHECK(run_detgrad("train retinanet --steps 1 --amp fp8 --out " + d + "/bad", out) == 1);
  CHECK_MESSAGE(out.find("--amp must be none, fp16 or bf16, got 'fp8'") != std::string::npos, out);
}
