#!/usr/bin/env bash
# large_batch_test.sh ATROUS DATASETS_DIR LAUNCH_DIR: launch/experiments/large-batch end to end, a
# 2-point version (global batches 2 and 4 on 2 ranks, all three arms, two seeds) with a tiny model:
#   - the runs: per arm the per-rank batch, accumulation, bn batch, steps and warmup of the rule, the
#     learning rate scaled (linear, local-bn) or not (fixed), SyncBatchNorm off only in local-bn, the
#     seed applied; the fixed arm's baseline point is the linear arm's run, not trained twice;
#   - results.csv (a row per run), results.md (a row per arm and batch: mean, spread, change against
#     the baseline), the plot;
#   - bad options stop the sweep before any run, naming the option.
set -u
atrous=$1
datasets=$2
launch=$3
source "$(dirname "$0")/common.sh"

make_packs 5 16 4
write_tiny_ini </dev/null
sweep=$launch/experiments/large-batch
if ! ATROUS=$atrous "$sweep" --out "$work/lb" --batches "2 4" --seeds "0 1" --local-bn-per-rank 1 --epochs 1 \
  --warmup-images 4 --config "$work/tiny.ini" --train "$work/train.h5" --val "$work/val.h5" >"$work/lb.log" 2>&1; then
  fail "the sweep failed: $(tail -5 "$work/lb.log")"
fi

/usr/bin/python3 - "$work/lb" <<'EOF' || fail "results.csv or the runs' options: $(cat "$work/lb/results.csv")"
import csv, re, sys
out = sys.argv[1]
rows = list(csv.DictReader(open(out + "/results.csv")))
got = [(r["arm"], r["global_batch"], r["seed"], r["batch_per_rank"], r["accumulate"], r["bn_batch"], r["steps"],
        r["warmup_steps"]) for r in rows]
want = [(arm, batch, seed, per_rank, accumulate, bn, steps, warmup)
        for batch, steps, warmup, arms in (
            ("2", "8", "2", [("linear", "1", "1", "2"), ("local-bn", "1", "1", "1")]),
            ("4", "4", "1", [("linear", "2", "1", "4"), ("fixed", "2", "1", "4"), ("local-bn", "1", "2", "1")]))
        for arm, per_rank, accumulate, bn in arms for seed in ("0", "1")]
assert got == want, got
lr = {(r["arm"], r["global_batch"]): float(r["lr"]) for r in rows}
assert abs(lr[("linear", "4")] / lr[("linear", "2")] - 2) < 1e-3, lr
assert abs(lr[("local-bn", "4")] / lr[("local-bn", "2")] - 2) < 1e-3, lr
assert abs(lr[("fixed", "4")] / lr[("linear", "2")] - 1) < 1e-3, lr
for task, r in enumerate(rows):
    assert 0 <= float(r["miou"]) <= 1 and float(r["images_per_s"]) > 0 and float(r["wall_s"]) > 0, r
    config = open(f"{out}/runs/{task}/config.ini").read()
    sync = "false" if r["arm"] == "local-bn" else "true"
    assert re.search(rf"^sync_bn = {sync}\b", config, re.M), (task, r["arm"])
    assert re.search(rf"^seed = {r['seed']}\b", config, re.M), (task, r["seed"])
    scaling = "none" if r["arm"] == "fixed" else "linear"
    assert re.search(rf"^lr_scaling = {scaling}\b", config, re.M), (task, r["arm"])
EOF
md=$work/lb/results.md
for row in '| linear | 2 | 2 x 1 x 1 | 2 | 8 |' '| fixed | 2 | 2 x 1 x 1 | 2 | 8 |' '| local-bn | 4 | 2 x 1 x 2 | 1 | 4 |'; do
  grep -qF "$row" "$md" || fail "results.md has no row starting '$row': $(cat "$md")"
done
grep -F '| linear | 2 |' "$md" | grep -qF '| 2 |' || fail "the baseline row does not count 2 seeds"
grep -F '| linear | 2 |' "$md" | grep -qE '\| \+0\.0 \|' || fail "the baseline's change is not +0.0: $(cat "$md")"
[ "$(grep -c '^| \(linear\|fixed\|local-bn\) |' "$md")" -eq 6 ] || fail "results.md: not one row per arm and batch"
[ -s "$work/lb/large-batch.png" ] || fail "no plot"
[ "$(ls "$work/lb/runs" | grep -c '^[0-9]*$')" -eq 10 ] || fail "not 10 run folders: $(ls "$work/lb/runs")"

# Bad options: a clear error, exit status 2, no run started.
bad() {
  local expected=$1
  shift
  out=$(ATROUS=$atrous "$sweep" --out "$work/bad" "$@" 2>&1)
  local status=$?
  [ $status -eq 2 ] && [[ "$out" == *"$expected"* ]] || fail "large-batch $*: status $status, '$out'"
  [ ! -d "$work/bad/runs" ] || fail "large-batch $* started runs"
}
bad "--arms are linear, fixed and local-bn, not 'sync'" --arms "linear sync"
bad "--batches must grow" --batches "4 2"
bad "global batch 3 is not a multiple of --ranks 2" --batches "2 3"
bad "--seeds are whole numbers" --seeds "0 x"
bad "--epochs must be a whole number" --epochs 0
bad "--lr must be a number > 0" --lr 0
bad "no configuration file" --config "$work/nowhere.ini"
# Without --train and --val the demo scenes are packed at the configuration's crop size: none, no sweep.
grep -v '^crop_size' "$work/tiny.ini" >"$work/no-crop.ini"
bad "sets no [data] crop_size to pack the demo scenes at; give --train and --val" --config "$work/no-crop.ini"
bad "--train and --val go together" --train "$work/train.h5"
# make-demo-packs refuses a size that is not a whole number of pixels.
out=$("$datasets/make-demo-packs" "$atrous" "$work/packs" 4 2 0 2>&1)
[ $? -eq 2 ] && [[ "$out" == *"SIZE must be a whole number of pixels, not '0'"* ]] && [ ! -e "$work/packs" ] ||
  fail "make-demo-packs with size 0: '$out'"
finish "large-batch sweep"
