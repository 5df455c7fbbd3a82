// Detections back in the image (detections.h boxes_to_image): mapped by the inverse letterbox, clipped
// to the image, boxes wholly outside dropped, order kept; the loader records every source image's size.
#include <doctest/doctest.h>

#include "tests/support.h"

#include "detectors/data/loader.h"
#include "detectors/detections.h"

using namespace dg;
using namespace dg::det;

TEST_CASE("boxes_to_image: map, clip, drop what lies outside") {
  // Input 64x64 is the image 128 wide x 32 high scaled by 0.5 and shifted down by 24: the inverse
  // maps x -> 2x, y -> 2(y - 24).
  const Affine back = {2, 0, 0, 0, 2, -48};
  Detections d{from_vector({10, 30, 20, 40,  // inside: (20, 12, 40, 32)
                            50, 20, 70, 30,  // crosses the right and top edges: (100, -8, 140, 12) -> (100, 0, 128, 12)
                            0, 0, 64, 10},   // wholly above the image: y in (-48, -28) -> dropped
                           {3, 4}),
               from_vector({0.9, 0.8, 0.7}, {3}), from_vector({1, 2, 3}, {3}, DType::i64)};
  const Detections r = boxes_to_image(d, back, 32, 128);
  REQUIRE(r.size() == 2);
  CHECK(r.boxes.to_vector() == std::vector<double>{20, 12, 40, 32, 100, 0, 128, 12});
  CHECK(r.scores.to_vector() == std::vector<double>{0.9f, 0.8f});
  CHECK(r.labels.to_vector() == std::vector<double>{1, 2});
  CHECK(boxes_to_image(Detections{}, back, 32, 128).size() == 0);
  CHECK_THROWS_WITH_PART(boxes_to_image(d, back, 0, 128), "boxes_to_image: image size must be positive, got 0x128");
}

TEST_CASE("loader: every batch records its images' sizes before augmentation") {
  std::vector<data::Scene> scenes(3);
  for (int i = 0; i < 3; ++i) scenes[(size_t)i].image = zeros({20 + 10 * i, 40, 3}, DType::u8);
  data::LoaderConfig lc;
  lc.batch_size = 3;
  lc.shuffle = false;
  lc.augment = true;
  lc.augment_config.flip = lc.augment_config.random_affine = lc.augment_config.color = false;
  lc.augment_config.out_height = lc.augment_config.out_width = 32;
  data::Loader loader([&](int64_t i) { return scenes[(size_t)i]; }, 3, lc);
  data::Batch b;
  REQUIRE(loader.next(b));
  CHECK(b.source_sizes == std::vector<std::pair<int64_t, int64_t>>{{20, 40}, {30, 40}, {40, 40}});
}
