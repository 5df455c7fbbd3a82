#!/bin/bash
# The issue-6 comparison: CenterNet vs FCOS vs RetinaNet on the same data (fashion-scenes, small preset:
# 8000 training / 500 validation scenes, seed 0) with the same CPU budget, each in its CPU-sized default
# configuration (ResNet-18 x0.25 backbone; docs/detection/compare.md), then every NMS kind on each model.
#
#   bench/compare_detectors.sh [MINUTES=10] [THREADS=2] [OUT=/tmp/compare_detectors]
#   RUNS="fcos=/tmp/detectors_yardstick/fcos/detgrad retinanet=..." bench/compare_detectors.sh 10
#     reuses finished runs (same data and budget, e.g. the yardsticks' detgrad runs) instead of training
#
# For each model: `detgrad train MODEL --minutes MINUTES` (time budget for training; evaluation excluded),
# then `detgrad eval RUN --nms K` for K = the detector's default, none, hard, soft-linear, soft-gaussian,
# diou (IoU threshold: the detector's default), each with --json. Output: OUT/compare.md (two markdown
# tables: the detectors, and mAP by NMS kind), OUT/<model>/ (runs), OUT/<model>/eval_<nms>.json.
# Training images/s = images seen / training seconds (from metrics.jsonl); inference ms/image =
# Detector::detect (network + decoding + NMS) per image, batches of 32, THREADS threads.
set -euo pipefail
minutes=${1:-10}
threads=${2:-2}
out=${3:-/tmp/compare_detectors}
root=$(cd "$(dirname "$0")/.." && pwd)
detgrad=${DETGRAD:-$root/build/detgrad}
[ -x "$detgrad" ] || { echo "no detgrad binary at $detgrad (build it, or set DETGRAD=...)" >&2; exit 2; }
mkdir -p "$out"
declare -A reuse
for kv in ${RUNS:-}; do reuse[${kv%%=*}]=${kv#*=}; done

for model in centernet fcos retinanet; do
  run="$out/$model"
  if [ -n "${reuse[$model]:-}" ]; then
    echo "== $model: reusing ${reuse[$model]}"
    mkdir -p "$run"
    cp "${reuse[$model]}"/{config.json,metrics.jsonl,model.safetensors} "$run/"
  else
    echo "== $model: $minutes minutes of training, $threads threads"
    rm -rf "$run"
    "$detgrad" train "$model" --preset small --train-size 8000 --val-size 500 --data-seed 0 --seed 0 \
      --minutes "$minutes" --threads "$threads" --out "$run"
  fi
  for nms in default none hard soft-linear soft-gaussian diou; do
    args=()
    [ "$nms" != default ] && args=(--nms "$nms")
    "$detgrad" eval "$run" "${args[@]}" --threads "$threads" --no-per-category --json "$run/eval_$nms.json" \
      > "$run/eval_$nms.txt"
    echo "   eval --nms $nms: $(grep 'IoU=0.50 ' "$run/eval_$nms.txt" | head -1 | sed 's/.*= //') mAP@0.5"
  done
done

/usr/bin/python3 - "$out" "$minutes" <<'PY' | tee "$out/compare.md"
import json, sys
out, minutes = sys.argv[1], sys.argv[2]
models = ["centernet", "fcos", "retinanet"]
kinds = ["default", "none", "hard", "soft-linear", "soft-gaussian", "diou"]
print(f"Same data (fashion-scenes small: 8000 training / 500 validation scenes, 96x96), same budget "
      f"({minutes} minutes of training on this machine), each detector's CPU default.\n")
print("| detector | parameters | training images/s | images seen | mAP@0.5 | mAP@[.5:.95] | class-agnostic AP@0.5 | inference ms/image |")
print("|---|---|---|---|---|---|---|---|")
for m in models:
    lines = [json.loads(l) for l in open(f"{out}/{m}/metrics.jsonl") if l.strip()]
    last = [l for l in lines if l["kind"] == "train"][-1]
    e = json.load(open(f"{out}/{m}/eval_default.json"))
    print(f"| {e['model']['describe'].split(',')[0]} | {e['model']['parameters']:,} | {last['images'] / last['train_seconds']:.0f} | {last['images']} | "
          f"{e['AP50']:.3f} | {e['AP']:.3f} | {e['agnostic_AP50']:.3f} | {e['detect_ms_per_image']:.2f} |")
print("\nmAP@[.5:.95] / mAP@0.5 by the NMS applied after decoding (default: CenterNet none, FCOS hard 0.6, "
      "RetinaNet hard 0.5; the other kinds use the detector's IoU threshold, soft-gaussian sigma 0.5):\n")
print("| detector | " + " | ".join(kinds) + " |")
print("|---|" + "---|" * len(kinds))
for m in models:
    cells = []
    for k in kinds:
        e = json.load(open(f"{out}/{m}/eval_{k}.json"))
        cells.append(f"{e['AP']:.3f} / {e['AP50']:.3f}")
    print(f"| {m} | " + " | ".join(cells) + " |")
PY
echo "wrote $out/compare.md"
