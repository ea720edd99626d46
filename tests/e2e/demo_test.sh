#!/usr/bin/env bash
# demo_test.sh ATROUS LAUNCH_DIR: launch/demo end to end in a short version (48 training scenes, 40
# steps, evaluations every 20) on 2 ranks:
#   - training with the demo's configuration, two evaluations during it, the loss falls;
#   - the final evaluation (eval.json: mIoU and a per-class IoU for the 5 demo classes), the
#     prediction grid and the loss and mIoU plots;
#   - a second run reuses the packs (datasets/make-demo-packs), other scene counts make them again;
#   - a bad option is refused with the usage, exit status 2.
set -u
atrous=$1
launch=$2
datasets=$launch/../datasets
source "$(dirname "$0")/common.sh"

demo() { ATROUS=$atrous "$launch/demo" "$@" >"$work/demo.log" 2>&1; }
demo --steps 40 --eval-every 20 --images 48,12 "$work/run" || fail "the demo failed: $(tail -5 "$work/demo.log")"
/usr/bin/python3 - "$work/run" <<'EOF' || fail "the demo's results"
import json, sys
run = sys.argv[1]
records = [json.loads(line) for line in open(run + "/train/metrics.jsonl")]
losses = [r["loss"] for r in records if "loss" in r]
evaluations = [r for r in records if "eval" in r]
assert len(losses) >= 2 and min(losses[-2:]) < losses[0], losses
assert [r["step"] for r in evaluations] == [20, 40], evaluations
result = json.load(open(run + "/eval.json"))
assert 0 <= result["miou"] <= 1, result
assert sorted(result["iou"]) == sorted(["background", "disc", "box", "triangle", "ring"]), result["iou"]
assert abs(result["miou"] - evaluations[-1]["eval"]["miou"]) < 1e-6, (result["miou"], evaluations[-1])
EOF
for file in predictions.png plots/loss.png plots/miou.png data/train.h5 data/val.h5; do
  [ -s "$work/run/$file" ] || fail "the demo wrote no $file"
done
grep -q "train 48 val 12 seed 0 size 65" "$work/run/data/made" || fail "data/made: $(cat "$work/run/data/made")"

before=$(stat -c %Y "$work/run/data/train.h5")
sleep 1
demo --steps 2 --eval-every 2 --images 48,12 "$work/run" || fail "the second demo failed: $(tail -5 "$work/demo.log")"
[ "$(stat -c %Y "$work/run/data/train.h5")" = "$before" ] || fail "the second demo made its packs again"
demo --steps 2 --eval-every 2 --images 40,12 "$work/run" || fail "the demo on 40 scenes failed: $(tail -5 "$work/demo.log")"
[ "$(stat -c %Y "$work/run/data/train.h5")" != "$before" ] || fail "other scene counts reused the old packs"

ATROUS=$atrous "$launch/demo" --stepz 3 "$work/bad" >"$work/bad.log" 2>&1
status=$?
[ $status -eq 2 ] && grep -q "unknown option '--stepz'" "$work/bad.log" && [ ! -e "$work/bad" ] ||
  fail "a bad option: status $status, $(cat "$work/bad.log")"
finish "demo"
