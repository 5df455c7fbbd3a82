#!/bin/bash
# The FCOS / RetinaNet yardstick of issue #6: torchvision's own FCOS or RetinaNet (bench/detectors_torch.py:
# detgrad's ResNet-18 x0.25 + torchvision FPN P3-P5 64, torchvision heads, losses and post-processing)
# and `detgrad train fcos|retinanet` with the same backbone, trained one after the other on this machine
# on the same scenes, both evaluated by detgrad's COCOeval every 8000 images (one epoch) and at the end.
#
#   bench/detectors_yardstick.sh MODEL [TORCH_MINUTES=5] [DETGRAD_MINUTES=10] [THREADS=2] [OUT=/tmp/detectors_yardstick]
#   bench/detectors_yardstick.sh fcos            # the issue-6 measurement for FCOS (~16 minutes)
#   bench/detectors_yardstick.sh retinanet 5 10 2 /tmp/dy
#
# LR=1e-3 sets the peak learning rate of both sides (default 2e-3; RetinaNet needs 1e-3: at 2e-3
# torchvision's RetinaNet collapses to background -- 0 detections after 16k images -- and detgrad's
# loss spikes in the warm-up; docs/detection/compare.md).
# REPORT_ONLY=1 skips the export and both trainings: it redraws the plots and the summary from the runs
# already in OUT/MODEL (e.g. after copying them from another machine).
# Needs build/detgrad (or DETGRAD=/path/to/detgrad) and Debian's python3-torch (/usr/bin/python3).
# The data (small preset: 8000 training scenes, 500 validation scenes, seed 0) is exported once into
# OUT/data/small and reused; detgrad trains on the same scenes generated in memory (scene i depends only
# on seed, split and i: identical pixels). Output: OUT/MODEL/{torchvision,detgrad}/ (curve.jsonl,
# metrics.jsonl), OUT/MODEL/map_vs_images.png, OUT/MODEL/map_vs_minutes.png, and a summary printed at the
# end (also in OUT/MODEL/summary.txt). Issue 6 asks: detgrad after DETGRAD_MINUTES >= torchvision after
# TORCH_MINUTES (for FCOS also >= 0.75), and at equal images seen within 0.03 of torchvision.
set -euo pipefail
model=${1:?model: fcos or retinanet}
torch_minutes=${2:-5}
detgrad_minutes=${3:-10}
threads=${4:-2}
out=${5:-/tmp/detectors_yardstick}
lr=${LR:-2e-3}
case "$model" in
  fcos|retinanet) ;;
  *) echo "model must be fcos or retinanet, got '$model'" >&2; exit 2 ;;
esac
root=$(cd "$(dirname "$0")/.." && pwd)
detgrad=${DETGRAD:-$root/build/detgrad}
py=/usr/bin/python3
[ -x "$detgrad" ] || { echo "no detgrad binary at $detgrad (build it, or set DETGRAD=...)" >&2; exit 2; }

data="$out/data/small"
run="$out/$model"
mkdir -p "$data" "$run"
if [ "${REPORT_ONLY:-0}" != 1 ]; then
for split in train val; do
  n=8000; [ "$split" = val ] && n=500
  if [ ! -f "$data/$split/instances.json" ]; then
    "$detgrad" data export fashion-scenes --preset small --out "$data/$split" --n $n --seed 0 --split $split
  fi
done

echo "== torchvision $model: $torch_minutes minutes, $threads threads"
rm -rf "$run/torchvision"
"$py" "$root/bench/detectors_torch.py" --model "$model" --train "$data/train" --val "$data/val" \
  --minutes "$torch_minutes" --eval-every 8000 --threads "$threads" --batch 32 --lr "$lr" --warmup 100 \
  --width 0.25 --fpn 64 --seed 0 --detgrad "$detgrad" --out "$run/torchvision"

echo "== detgrad $model: $detgrad_minutes minutes, $threads threads"
rm -rf "$run/detgrad"
"$detgrad" train "$model" --preset small --train-size 8000 --val-size 500 --data-seed 0 --seed 0 \
  --width 0.25 --fpn 64 --head-depth 4 --lr "$lr" --minutes "$detgrad_minutes" --threads "$threads" --out "$run/detgrad"
fi

title="$model x0.25, small"
"$detgrad" plot "$run/detgrad/metrics.jsonl:detgrad" "$run/torchvision/curve.jsonl:torchvision" --where kind=eval \
  --x images --y AP50 --ymin 0 --xlabel "training images" --ylabel "mAP@0.5" \
  --title "$title: mAP@0.5 vs images" --out "$run/map_vs_images.png"
"$detgrad" plot "$run/detgrad/metrics.jsonl:detgrad" "$run/torchvision/curve.jsonl:torchvision" --where kind=eval \
  --x train_seconds --y AP50 --ymin 0 --xlabel "training seconds (evaluation excluded)" --ylabel "mAP@0.5" \
  --title "$title: mAP@0.5 vs train time" --out "$run/map_vs_minutes.png"

"$py" - "$run" "$model" "$torch_minutes" "$detgrad_minutes" <<'EOF' | tee "$run/summary.txt"
import json, sys
run, model, tmin, dmin = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
def evals(path):
    return [j for j in map(json.loads, filter(str.strip, open(path))) if j.get("kind") == "eval"]
d = evals(f"{run}/detgrad/metrics.jsonl")
t = evals(f"{run}/torchvision/curve.jsonl")
if not d or not t:
    sys.exit(f"no eval lines (detgrad {len(d)}, torchvision {len(t)})")
def torch_at(images):
    """torchvision's AP50 at this image count: linear between its evaluations, None outside them."""
    if images < t[0]["images"] or images > t[-1]["images"]:
        return None
    for a, b in zip(t, t[1:]):
        if a["images"] <= images <= b["images"]:
            f = (images - a["images"]) / (b["images"] - a["images"]) if b["images"] > a["images"] else 0.0
            return a["AP50"] + f * (b["AP50"] - a["AP50"])
    return t[0]["AP50"]
print(f"{'images':>8} | {'detgrad AP50':>12} {'min':>6} | {'torchvision AP50':>16} | diff")
diffs = []
for a in d:
    b = torch_at(a["images"])
    tv = f"{b:>16.3f}" if b is not None else f"{'-':>16}"
    df = f"{a['AP50'] - b:+.3f}" if b is not None else ""
    if b is not None:
        diffs.append(a["AP50"] - b)
    print(f"{a['images']:>8} | {a['AP50']:>12.3f} {a['train_seconds']/60:>6.2f} | {tv} | {df}")
print("torchvision's own evaluations:")
for b in t:
    print(f"{b['images']:>8} | {b['AP50']:>12.3f} {b['train_seconds']/60:>6.2f} min")
rd = d[-1]["images"] / d[-1]["train_seconds"]
rt = t[-1]["images"] / t[-1]["train_seconds"]
print(f"torchvision after {t[-1]['train_seconds']/60:.2f} min ({tmin:g} budgeted): AP50 {t[-1]['AP50']:.3f} "
      f"AP {t[-1]['AP']:.3f} agnostic AP50 {t[-1]['agnostic_AP50']:.3f}, {t[-1]['images']} images")
print(f"detgrad     after {d[-1]['train_seconds']/60:.2f} min ({dmin:g} budgeted): AP50 {d[-1]['AP50']:.3f} "
      f"AP {d[-1]['AP']:.3f} agnostic AP50 {d[-1].get('agnostic_AP50', float('nan')):.3f}, {d[-1]['images']} images")
print(f"training images/s: detgrad {rd:.1f}, torchvision {rt:.1f}, ratio {rd/rt:.2f}x")
ok1 = d[-1]["AP50"] >= t[-1]["AP50"] and (model != "fcos" or d[-1]["AP50"] >= 0.75)
worst = max((abs(x) for x in diffs), default=float("nan"))
print(f"issue 6, final AP50: detgrad {d[-1]['AP50']:.3f} >= torchvision {t[-1]['AP50']:.3f}"
      + (" and >= 0.75" if model == "fcos" else "") + f": {'yes' if ok1 else 'NO'}")
lag = max((-x for x in diffs), default=float("nan"))
print(f"issue 6, equal images: largest |detgrad - torchvision| {worst:.3f}, largest shortfall {lag:+.3f}, over "
      f"{len(diffs)} points (<= 0.03 wanted): {'yes' if diffs and worst <= 0.03 else 'NO'}")
EOF
echo "plots: $run/map_vs_images.png $run/map_vs_minutes.png"
