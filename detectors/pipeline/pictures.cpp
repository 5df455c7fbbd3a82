// The pictures of a finished run (see pictures.h).
#include "detectors/pipeline/pictures.h"

#include <algorithm>
#include <filesystem>

#include "autograd/io/image.h"
#include "autograd/ops.h"
#include "detectors/draw.h"
#include "detectors/pipeline/model_file.h"

namespace dg::det {

RunPictures write_run_pictures(const std::string& run_dir, const data::DatasetSpec& val_data, const Evaluation& eval,
                               int64_t n) {
  namespace fs = std::filesystem;
  data::Dataset val = data::open_dataset(val_data, data::Split::val);
  LoadedModel m = load_model(run_dir);
  n = std::min<int64_t>(n, std::min<int64_t>(val.size, eval.pictures()));
  RunPictures r;
  std::vector<Tensor> preds, maps_pics;
  for (int64_t i = 0; i < n; ++i) preds.push_back(eval.picture(i, val.get(i), m.info.class_names));
  r.detections = (fs::path(run_dir) / "detections.png").string();
  io::save_png(r.detections, tile_images(preds, 4, 4));
  // The score maps of the same scenes, one batch through the network.
  data::Loader loader(val.get, n, eval_loader_config(m.info, n, 0));
  data::Batch b;
  loader.next(b);
  const Tensor maps = m.net->score_maps(b.images);
  if (!maps.defined()) return r;
  for (int64_t i = 0; i < n; ++i) {
    Tensor p = squeeze(narrow(maps, 0, i, 1), 0);
    maps_pics.push_back(eval.picture(i, val.get(i), m.info.class_names, &p));
  }
  r.score_maps = (fs::path(run_dir) / "heatmaps.png").string();
  io::save_png(r.score_maps, tile_images(maps_pics, 4, 4));
  return r;
}

}  // namespace dg::det
