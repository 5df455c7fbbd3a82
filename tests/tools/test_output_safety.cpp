// Outputs never destroy inputs (issue 14): `detect` refuses an --out that would overwrite an input
// image and gives same-stem inputs distinct pictures; `eval` refuses a --json or --dt-out that is one
// of its inputs. Every refusal happens before anything is written, and the input is byte-identical.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "autograd/io/image.h"
#include "detectors/eval/coco_json.h"
#include "detectors/pipeline/model_file.h"
#include "detectors/task/zoo.h"
#include "tests/support.h"

using namespace dg;
namespace fs = std::filesystem;

namespace {
std::string tiny_model(const std::string& dir) {
  Generator gen(0);
  auto t = det::make_model("centernet", 10, {{"width_mult", 0.125}, {"up_channels", {16, 8, 8}}, {"head_channels", 8}},
                           gen);
  det::ModelInfo info;
  info.kind = t->kind();
  info.config = t->config_json();
  for (int k = 0; k < 10; ++k) info.class_names.push_back("c" + std::to_string(k)), info.category_ids.push_back(k + 1);
  info.input_height = info.input_width = 64;
  const std::string path = dir + "/model.safetensors";
  det::save_model(path, *t, info);
  return path;
}
}  // namespace

TEST_CASE("output safety: detect never overwrites an input and keeps same-stem outputs apart") {
  const std::string d = fresh_temp_dir("safety", "detect");
  const std::string model = tiny_model(d);
  fs::create_directories(d + "/a"), fs::create_directories(d + "/b");
  io::save_png(d + "/a/x.png", zeros({40, 50, 3}, DType::u8));
  io::save_png(d + "/b/x.png", full({30, 20, 3}, 200, DType::u8));
  const std::string before = read_text(d + "/a/x.png");
  std::string out;
  CHECK(run_detgrad("detect " + model + " " + d + "/a/x.png --out " + d + "/a", out) != 0);
  CHECK(out.find("the picture " + d + "/a/x.png would overwrite the input " + d + "/a/x.png") != std::string::npos);
  CHECK(read_text(d + "/a/x.png") == before);
  CHECK_FALSE(fs::exists(d + "/a/detections.json"));  // refused before writing anything
  // Two inputs named x.png: x.png and x_2.png.
  REQUIRE(run_detgrad("detect " + model + " " + d + "/a/x.png " + d + "/b/x.png --out " + d + "/out", out) == 0);
  CHECK(io::load_image(d + "/out/x.png").size(1) > 0);
  const Tensor second = io::load_image(d + "/out/x_2.png");  // the 30 high x 20 wide image's picture
  CHECK(second.size(0) * 2 == second.size(1) * 3);
  CHECK(read_text(d + "/out/detections.json").find(d + "/b/x.png") != std::string::npos);
}

TEST_CASE("output safety: eval never writes over its ground truth, detections or model") {
  const std::string d = fresh_temp_dir("safety", "eval");
  const std::string gt = d + "/gt.json", dt = d + "/dt.json";
  std::ofstream(gt)
      << R"({"images":[{"id":1,"width":10,"height":10,"file_name":"a.png"}],)"
         R"("annotations":[{"id":1,"image_id":1,"category_id":1,"bbox":[1,1,4,4],"area":16,"iscrowd":0}],)"
         R"("categories":[{"id":1,"name":"thing"}]})";
  std::ofstream(dt) << R"([{"image_id":1,"category_id":1,"bbox":[1,1,4,4],"score":0.9}])";
  const std::string gt_before = read_text(gt), dt_before = read_text(dt);
  std::string out;
  CHECK(run_detgrad("eval --gt " + gt + " --dt " + dt + " --json " + gt, out) != 0);
  CHECK(out.find("eval: --json " + gt + " would overwrite the input " + gt) != std::string::npos);
  CHECK(run_detgrad("eval --gt " + gt + " --dt " + dt + " --json " + d + "/../eval/dt.json", out) != 0);
  CHECK(out.find("would overwrite the input " + dt) != std::string::npos);
  CHECK(read_text(gt) == gt_before);
  CHECK(read_text(dt) == dt_before);
  REQUIRE(run_detgrad("eval --gt " + gt + " --dt " + dt + " --json " + d + "/result.json", out) == 0);
  CHECK(read_text(d + "/result.json").find("\"AP\"") != std::string::npos);
}

TEST_CASE("output safety: JSON outputs are written atomically and fail loudly") {
  const std::string d = fresh_temp_dir("safety", "json");
  eval::write_json_file(d + "/a.json", nlohmann::json{{"k", 1}}, 2);
  CHECK(read_text(d + "/a.json") == "{\n  \"k\": 1\n}\n");
  // The target is a folder: the rename fails, the error names the file, no temporary file is left.
  fs::create_directories(d + "/taken.json");
  CHECK_THROWS_WITH_PART(eval::write_json_file(d + "/taken.json", nlohmann::json{{"k", 2}}),
                         "write_json_file: " + d + "/taken.json: cannot rename");
  int left = 0;
  for (const auto& e : fs::directory_iterator(d)) left += e.path().string().find(".tmp") != std::string::npos;
  CHECK(left == 0);
  CHECK_THROWS_WITH_PART(eval::write_json_file("/nonexistent_dir/x.json", nlohmann::json{}),
                         "write_json_file: /nonexistent_dir/x.json: cannot create");
}
