#!/usr/bin/env bash
# large_batch_test.sh ATROUS DATASETS_DIR LAUNCH_DIR: launch/experiments/large-batch end to end, a
# 2-point version (global batches 2 and 4 on 2 ranks) with a tiny model:
#   1. every recipe with a target every run reaches at its first evaluation: per recipe the per-rank
#      batch, accumulation, bn batch, the optimizer, the rate scaled by the recipe's rule (linear or
#      sqrt), SyncBatchNorm off only in local-bn; each run stopped at the target (fewer steps than
#      the cap) and says so in target.json; results.csv, results.md (a row per recipe and batch, and
#      what it shows), the plot;
#   2. the learning-rate search (--search) for one recipe with an unreachable target: both candidate
#      rates trained at the base batch, one chosen (lr-search.md, rates.json), the base point not
#      trained again, and "not reached" with the best mIoU in the results;
#   3. bad options stop the sweep before any run, naming the option.
set -u
atrous=$1
datasets=$2
launch=$3
source "$(dirname "$0")/common.sh"

make_packs 5 16 4
write_tiny_ini </dev/null
sweep=$launch/experiments/large-batch
common=(--batches "2 4" --local-bn-per-rank 1 --max-epochs 2 --eval-every-epochs 0.5 --warmup-epochs 0.25
  --config "$work/tiny.ini" --train "$work/train.h5" --val "$work/val.h5")
if ! ATROUS=$atrous "$sweep" --out "$work/lb" --target 0.01 "${common[@]}" >"$work/lb.log" 2>&1; then
  fail "the sweep failed: $(tail -5 "$work/lb.log")"
fi

/usr/bin/python3 - "$work/lb" <<'EOF' || fail "results.csv or the runs' options: $(cat "$work/lb/results.csv")"
import csv, json, math, re, sys
out = sys.argv[1]
rows = list(csv.DictReader(open(out + "/results.csv")))
got = [(r["recipe"], r["global_batch"], r["batch_per_rank"], r["accumulate"], r["bn_batch"]) for r in rows]
want = [(recipe, batch, per_rank, accumulate, bn)
        for batch, recipes in (("2", [("sgd-linear", "1", "1", "2"), ("lars", "1", "1", "2"), ("lamb", "1", "1", "2"),
                                      ("local-bn", "1", "1", "1")]),
                               ("4", [("sgd-linear", "2", "1", "4"), ("lars", "2", "1", "4"), ("lamb", "2", "1", "4"),
                                      ("local-bn", "1", "2", "1")]))
        for recipe, per_rank, accumulate, bn in recipes]
assert got == want, got
lr = {(r["recipe"], r["global_batch"]): float(r["lr"]) for r in rows}
for recipe, factor in (("sgd-linear", 2), ("local-bn", 2), ("lars", math.sqrt(2)), ("lamb", math.sqrt(2))):
    assert abs(lr[(recipe, "4")] / lr[(recipe, "2")] - factor) < 1e-3, (recipe, lr)
optimizer = {"sgd-linear": "sgd", "local-bn": "sgd", "lars": "lars", "lamb": "lamb"}
for r in rows:
    task = r["task"]
    config = open(f"{out}/runs/{task}/config.ini").read()
    assert re.search(rf"^optimizer = {optimizer[r['recipe']]}\b", config, re.M), (task, r["recipe"])
    sync = "false" if r["recipe"] == "local-bn" else "true"
    assert re.search(rf"^sync_bn = {sync}\b", config, re.M), (task, r["recipe"])
    assert re.search(r"^target_miou = 0.01\b", config, re.M), task
    assert re.search(r"^eval_every_epochs = 0.5\b", config, re.M), task
    assert re.search(r"^warmup_epochs = 0.25\b", config, re.M), task
    target = json.load(open(f"{out}/runs/{task}/target.json"))
    assert target["reached"] is True and target["miou"] >= 0.01, (task, target)
    cap_steps = math.ceil(2 * 16 / int(r["global_batch"]))
    assert 0 < target["step"] < cap_steps, (task, target, cap_steps)  # stopped before the cap
    assert abs(target["epoch"] - target["images"] / 16) < 1e-6, target
    assert r["reached"] == "True" and float(r["epochs"]) == target["epoch"], r
    checkpoint = open(f"{out}/runs/{task}/checkpoints/latest").read().strip()
    assert checkpoint == f"step-{target['step']}.pt", (task, checkpoint)  # the final checkpoint at the stop
    log = open(f"{out}/runs/{task}.out").read()
    assert f"reached at step {target['step']}" in log, task
EOF
md=$work/lb/results.md
for recipe in sgd-linear lars lamb local-bn; do
  [ "$(grep -c "^| $recipe | [24] |" "$md")" -eq 2 ] || fail "results.md: not two rows for $recipe: $(cat "$md")"
done
grep -qF "SGD with linear scaling reaches the target at every batch up to 4." "$md" || fail "no verdict on SGD: $(cat "$md")"
grep -qF "Per-rank batch norm at batch 4:" "$md" || fail "no line on per-rank batch norm: $(cat "$md")"
grep -q '| 1.00x |' "$md" || fail "no ratio to the base batch: $(cat "$md")"
[ -s "$work/lb/large-batch.png" ] || fail "no plot"

# 2. The search, and a target no run reaches.
if ! ATROUS=$atrous "$sweep" --out "$work/search" --target 1 --recipes lamb --search --candidates-lamb "0.001 0.002" \
  "${common[@]}" >"$work/search.log" 2>&1; then
  fail "the search failed: $(tail -5 "$work/search.log")"
fi
/usr/bin/python3 - "$work/search" <<'EOF' || fail "the search's runs: $(cat "$work/search/runs.csv")"
import csv, json, sys
out = sys.argv[1]
rows = list(csv.DictReader(open(out + "/runs.csv")))
assert [(r["phase"], r["global_batch"], r["base_lr"]) for r in rows] == [
    ("search", "2", "0.001"), ("search", "2", "0.002"), ("sweep", "4", str(json.load(open(out + "/rates.json"))["lamb"]))], rows
chosen = json.load(open(out + "/rates.json"))["lamb"]
best = {float(r["base_lr"]): json.load(open(f"{out}/runs/{r['task']}/target.json"))["best_miou"] for r in rows[:2]}
assert chosen == max(best, key=best.get), (chosen, best)  # nothing reached: the highest best mIoU
for r in rows:
    target = json.load(open(f"{out}/runs/{r['task']}/target.json"))
    assert target["reached"] is False and target["step"] is None and target["best_miou"] >= 0, target
    assert target["last_step"] == int(r["steps"]), (target, r)  # trained to the cap
EOF
grep -q "| lamb | 0.001 |" "$work/search/lr-search.md" && grep -q "| yes |" "$work/search/lr-search.md" ||
  fail "lr-search.md: $(cat "$work/search/lr-search.md")"
grep -q "^| lamb | 2 | .* not reached (0 of 1) |" "$work/search/results.md" || fail "no 'not reached': $(cat "$work/search/results.md")"
grep -q "not reached in" "$work/search/runs/0.out" || fail "the run's log does not say the target was not reached"

# 3. Bad options: a clear error, exit status 2, no run started.
bad() {
  local expected=$1
  shift
  out=$(ATROUS=$atrous "$sweep" --out "$work/bad" "$@" 2>&1)
  local status=$?
  [ $status -eq 2 ] && [[ "$out" == *"$expected"* ]] || fail "large-batch $*: status $status, '$out'"
  [ ! -d "$work/bad/runs" ] || fail "large-batch $* started runs"
}
bad "--recipes are sgd-linear, lars, lamb and local-bn, not 'adam'" --recipes "lamb adam"
bad "--batches must grow" --batches "4 2"
bad "global batch 3 is not a multiple of --ranks 2" --batches "2 3"
bad "--seeds are whole numbers" --seeds "0 x"
bad "--max-epochs must be a number > 0" --max-epochs 0
bad "--target must be a number > 0 and at most 1" --target 85
bad "--lr-lamb must be a number > 0" --lr-lamb 0
bad "--candidates-lars must be a number > 0" --candidates-lars "1 -2"
bad "no configuration file" --config "$work/nowhere.ini"
grep -v '^crop_size' "$work/tiny.ini" >"$work/no-crop.ini"
bad "sets no [data] crop_size to pack the demo scenes at; give --train and --val" --config "$work/no-crop.ini"
bad "--train and --val go together" --train "$work/train.h5"
out=$("$datasets/make-demo-packs" "$atrous" "$work/packs" 4 2 0 2>&1)
[ $? -eq 2 ] && [[ "$out" == *"SIZE must be a whole number of pixels, not '0'"* ]] && [ ! -e "$work/packs" ] ||
  fail "make-demo-packs with size 0: '$out'"
finish "large-batch sweep"
