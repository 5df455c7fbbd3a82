#!/bin/bash
# The CenterNet yardstick of issue #5: detgrad and PyTorch train the same network from the same initial
# weights, with the same schedule and augmentation, on the same data, one after the other on this
# machine; then mAP@0.5 is plotted against images seen and against training minutes for both.
#
#   bench/centernet_yardstick.sh small    STEPS [THREADS] [OUT]   # ResNet-18 x0.25, 96x96 scenes
#   bench/centernet_yardstick.sh standard STEPS [THREADS] [OUT]   # full-width ResNet-18, 128x128 scenes
#
# Needs build/detgrad and Debian's python3-torch (/usr/bin/python3). The data (8000 training scenes,
# 500 validation scenes, seed 0) is exported once into OUT/data and reused. detgrad trains on the
# same scenes generated in memory (scene i depends only on seed, split and i: identical pixels).
# Both sides evaluate every 8000 images (one epoch) with detgrad's COCOeval.
# Output: OUT/<preset>/{detgrad,pytorch}/ (metrics), OUT/<preset>/map_vs_images.png,
# OUT/<preset>/map_vs_minutes.png and a summary printed at the end.
set -euo pipefail
preset=${1:?preset: small or standard}
steps=${2:?number of training steps}
threads=${3:-2}
out=${4:-/tmp/centernet_yardstick}
root=$(cd "$(dirname "$0")/.." && pwd)
detgrad="$root/build/detgrad"
py=/usr/bin/python3

case "$preset" in
  small) net=(--width 0.25 --up 64 32 32 --head 32); pnet=(--width 0.25 --up 64,32,32 --head 32) ;;
  standard) net=(--width 1 --up 256 128 64 --head 64); pnet=(--full-width) ;;
  *) echo "preset must be small or standard" >&2; exit 2 ;;
esac
data="$out/data/$preset"
run="$out/$preset"
mkdir -p "$data" "$run"
for split in train val; do
  n=8000; [ "$split" = val ] && n=500
  if [ ! -f "$data/$split/instances.json" ]; then
    "$detgrad" data export fashion-scenes --preset "$preset" --out "$data/$split" --n $n --seed 0 --split $split
  fi
done
# The initial weights of detgrad's model (seed 0), for PyTorch's --init.
"$detgrad" bench centernet-parity --data "$data/val" --out "$run/init" --n 1 --seed 0 \
  --width "${net[1]}" --up "${net[3]},${net[4]},${net[5]}" --head "${net[7]}" > /dev/null

echo "== detgrad: $steps steps, $threads threads"
rm -rf "$run/detgrad"
"$detgrad" train centernet --preset "$preset" --train-size 8000 --val-size 500 --data-seed 0 --seed 0 \
  "${net[@]}" --steps "$steps" --threads "$threads" --out "$run/detgrad"

echo "== PyTorch: $steps steps, $threads threads"
rm -rf "$run/pytorch"
"$py" "$root/bench/centernet_torch.py" --train "$data/train" --val "$data/val" "${pnet[@]}" --steps "$steps" \
  --eval-every 8000 --threads "$threads" --init "$run/init/weights.safetensors" --detgrad "$detgrad" \
  --out "$run/pytorch"

"$detgrad" plot "$run/detgrad/metrics.jsonl:detgrad" "$run/pytorch/curve.jsonl:PyTorch" --where kind=eval \
  --x images --y AP50 --title "CenterNet $preset: mAP@0.5 vs images seen" --out "$run/map_vs_images.png"
"$detgrad" plot "$run/detgrad/metrics.jsonl:detgrad" "$run/pytorch/curve.jsonl:PyTorch" --where kind=eval \
  --x train_seconds --y AP50 --xlabel "training seconds" --title "CenterNet $preset: mAP@0.5 vs training time" \
  --out "$run/map_vs_minutes.png"

"$py" - "$run" <<'EOF'
import json, sys
run = sys.argv[1]
def evals(path):
    return [j for j in map(json.loads, open(path)) if j.get("kind") == "eval"]
d = evals(f"{run}/detgrad/metrics.jsonl")
t = evals(f"{run}/pytorch/curve.jsonl")
print(f"{'images':>8} | {'detgrad AP50':>12} {'min':>6} | {'PyTorch AP50':>12} {'min':>6} | diff")
for a, b in zip(d, t):
    print(f"{a['images']:>8} | {a['AP50']:>12.3f} {a['train_seconds']/60:>6.2f} | {b['AP50']:>12.3f} "
          f"{b['train_seconds']/60:>6.2f} | {a['AP50']-b['AP50']:+.3f}")
rd = d[-1]["images"] / d[-1]["train_seconds"]
rt = t[-1]["images"] / t[-1]["train_seconds"]
print(f"final: detgrad AP50 {d[-1]['AP50']:.3f} AP {d[-1]['AP']:.3f} agnostic {d[-1]['agnostic_AP50']:.3f}; "
      f"PyTorch AP50 {t[-1]['AP50']:.3f} AP {t[-1]['AP']:.3f} agnostic {t[-1]['agnostic_AP50']:.3f}")
print(f"training images/s: detgrad {rd:.1f}, PyTorch {rt:.1f}, ratio {rd/rt:.2f}x")
EOF
