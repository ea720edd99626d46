#!/usr/bin/env bash
# train_test.sh ATROUS DATASETS_DIR "LAUNCHER-2-RANKS": `atrous train` and `atrous eval` end to end on
# 2 ranks with a tiny model and crop:
#   - the loss falls; metrics.jsonl and checkpoints come from rank 0 only, with the waits for
#     collectives by purpose; eval prints a table; a batch-norm group that does not divide the ranks;
#   - resume exactness: SIGTERM mid-run (exit 75, checkpoint) and kill -9 of one rank mid-run, each
#     resumed with train.resume=auto, log the same losses step by step as an uninterrupted run;
#     a bf16 run (train.precision) resumed from a checkpoint repeats its losses too; channels-last
#     weights (model.memory_format) give the same first loss;
#   - LARS and LAMB resume exactly; another optimizer's checkpoint and a target without evaluations
#     are refused;
#   - a half-written checkpoint (crash while writing) does not stop the resume, and is removed;
#   - an emptied `latest` pointer resumes from the newest checkpoint, with a warning;
#   - a second job on a locked run directory, a NaN loss, a sample that fails its checksum on one
#     rank, a truncated checkpoint and train.resume none over a run's checkpoints give clear errors.
set -u
atrous=$1
datasets=$2
IFS=';' read -ra mpi2 <<<"$3"
# shellcheck source=tests/e2e/common.sh
source "$(dirname "$0")/common.sh"

make_packs 2 24 8
write_tiny_ini <<'INI'
[data]
min_scale = 0.75
max_scale = 1.25
[model]
dropout = 0.1
[optim]
lr = 0.02
INI
train() { "${mpi2[@]}" "$atrous" train --config "$work/tiny.ini" "$@"; }

# 1. An uninterrupted run: the loss falls, rank 0 alone writes.
out=$(train --train.run_dir "$work/a" --train.steps 20 --ckpt.every_steps 4 2>&1) || fail "run a: $out"
[ "$(wc -l <"$work/a/metrics.jsonl")" -eq 20 ] || fail "metrics.jsonl has $(wc -l <"$work/a/metrics.jsonl") lines, not 20"
[ "$(grep -c 'INFO  step ' <<<"$out")" -eq 20 ] || fail "progress lines are not printed once per step"
first=$(losses "$work/a" | head -5 | awk '{s += $2} END {print s / 5}')
last=$(losses "$work/a" | tail -5 | awk '{s += $2} END {print s / 5}')
awk -v f="$first" -v l="$last" 'BEGIN {exit !(l < f)}' || fail "loss did not fall: first $first, last $last"
[ "$(ls "$work/a/checkpoints" | grep -c '^step-.*\.pt$')" -eq 3 ] || fail "ckpt.keep 3: $(ls "$work/a/checkpoints")"
[ "$(cat "$work/a/checkpoints/latest")" = "step-20.pt" ] || fail "latest does not name step-20.pt"
[ -f "$work/a/config.ini" ] && grep -q "steps = 20" "$work/a/config.ini" || fail "config.ini"
# Exposed communication by purpose, in the progress line and in metrics.jsonl.
grep -qE 'comm [0-9]+% \(grad [0-9]+%, bn [0-9]+%, loss [0-9]+%, agree [0-9]+%\)' <<<"$out" ||
  fail "progress line without comm by purpose: $(grep -m1 'INFO  step ' <<<"$out")"
grep -qE '"comm": \{"gradients": [-0-9.e]+, "batch_norm": [-0-9.e]+, "loss_reduction": [-0-9.e]+, "step_agreement": [-0-9.e]+\}' \
  "$work/a/metrics.jsonl" || fail "metrics.jsonl without comm by purpose: $(tail -1 "$work/a/metrics.jsonl")"
out=$(train --train.run_dir "$work/g3" --train.steps 1 --dist.sync_bn_group 3 2>&1)
status=$?
[ "$status" -eq 2 ] && [ "$(grep -c 'option --dist.sync_bn_group = 3 is not allowed' <<<"$out")" -eq 1 ] ||
  fail "dist.sync_bn_group 3 on 2 ranks: $status $out"

out=$("${mpi2[@]}" "$atrous" eval --config "$work/tiny.ini" --eval.checkpoint "$work/a/checkpoints/step-20.pt" \
  --eval.data "$work/val.h5" --eval.out "$work/eval.json" --eval.flip true 2>&1) || fail "eval: $out"
[ "$(grep -c '  mIoU ' <<<"$out")" -eq 1 ] && grep -q '"samples": 8' "$work/eval.json" || fail "eval output: $out"

# A finished run rerun with fewer train.steps trains nothing and says so (it exited 0 without a word).
cp -r "$work/a" "$work/done"
out=$(train --train.run_dir "$work/done" --train.steps 10 2>&1) || fail "rerun of a finished run: $out"
grep -qF "nothing to do: the run is at step 20, past its train.steps = 10; raise train.steps" <<<"$out" ||
  fail "no word on a run past train.steps: $(grep -E 'WARN|resuming' <<<"$out")"

# An emptied `latest` pointer: the run resumes from its newest checkpoint and says so.
cp -r "$work/a" "$work/lp" && : >"$work/lp/checkpoints/latest" && : >"$work/lp/checkpoints/.step-24.pt.partial-abcdefghij12"
out=$(train --train.run_dir "$work/lp" --train.steps 22 2>&1) || fail "resume with an empty latest: $out"
grep -qF "checkpoints/latest is empty; the newest checkpoint there is step-20.pt; resuming from it" <<<"$out" &&
  grep -q "resuming from .*step-20.pt at step 20" <<<"$out" && [ ! -e "$work/lp/checkpoints/.step-24.pt.partial-abcdefghij12" ] ||
  fail "resume with an empty latest: $(grep -E 'WARN|resuming' <<<"$out")"

# infer: masks and overlays at the original size, logits consistent with the masks.
mkdir -p "$work/images" && cp "$work/source/VOC2012/JPEGImages/$(head -1 "$work/source/VOC2012/ImageSets/Segmentation/train.txt").jpg" "$work/images/"
out=$("$atrous" infer --config "$work/tiny.ini" --eval.checkpoint "$work/a/checkpoints/step-20.pt" \
  --infer.input "$work/val.h5,$work/images" --infer.out "$work/masks" --infer.logits_out "$work/logits.h5" 2>&1) ||
  fail "infer: $out"
/usr/bin/python3 - "$work" <<'PY' || fail "infer outputs"
import os, sys
import h5py, numpy as np
from PIL import Image
work = sys.argv[1]
names = [l.strip() for l in open(f"{work}/source/VOC2012/ImageSets/Segmentation/val.txt")]
names.append(os.listdir(f"{work}/images")[0][:-4])
with h5py.File(f"{work}/logits.h5", "r") as f:
    assert sorted(f["logits"]) == sorted(names), (sorted(f["logits"]), names)
    for name in names:
        source = Image.open(f"{work}/source/VOC2012/JPEGImages/{name}.jpg")
        mask = Image.open(f"{work}/masks/{name}.png")
        assert mask.mode == "P" and mask.size == source.size, (name, mask.mode, mask.size, source.size)
        overlay = Image.open(f"{work}/masks/{name}_overlay.png")
        assert overlay.mode == "RGB" and overlay.size == source.size
        logits = f["logits"][name][:]
        assert logits.shape == (5, source.size[1], source.size[0]), logits.shape
        assert (np.array(mask) == logits.argmax(0)).mean() > 0.999, name
PY
out=$("${mpi2[@]}" "$atrous" infer --config "$work/tiny.ini" --eval.checkpoint "$work/a/checkpoints/step-20.pt" \
  --infer.input "$work/images" --infer.out "$work/masks2" --infer.logits_out "$work/l2.h5" 2>&1); status=$?
[ "$status" -eq 2 ] && [ "$(grep -c 'option --infer.logits_out' <<<"$out")" -eq 1 ] || fail "logits on 2 ranks: $status $out"

# train.eval_every: the same evaluation inside training, into metrics.jsonl.
out=$(train --train.run_dir "$work/v" --train.steps 6 --train.eval_every 3 --data.val "$work/val.h5" 2>&1) ||
  fail "eval_every: $out"
[ "$(grep -c '"eval": {"miou"' "$work/v/metrics.jsonl")" -eq 2 ] && grep -q '"samples": 8' "$work/v/metrics.jsonl" ||
  fail "eval_every records: $(cat "$work/v/metrics.jsonl")"
out=$(train --train.run_dir "$work/w" --train.steps 6 --train.eval_every 3 2>&1); status=$?
[ "$status" -eq 2 ] && grep -q "option --data.val" <<<"$out" || fail "eval_every without data.val: $status $out"

# Evaluation at another output stride than training's (same weights, atrous rates follow).
out=$("$atrous" eval --config "$work/tiny.ini" --eval.checkpoint "$work/a/checkpoints/step-20.pt" \
  --eval.data "$work/val.h5" --eval.out "$work/eval8.json" --eval.output_stride 8 2>&1) || fail "eval at OS 8: $out"
grep -q '"samples": 8' "$work/eval8.json" || fail "eval at OS 8 wrote no result"
out=$("$atrous" infer --config "$work/tiny.ini" --eval.checkpoint "$work/a/checkpoints/step-20.pt" \
  --infer.input "$work/nowhere.jpg" --infer.out "$work/masks3" 2>&1); status=$?
[ "$status" -eq 1 ] && grep -qF "infer input '$work/nowhere.jpg' is not an image, a folder or a pack" <<<"$out" ||
  fail "missing infer input: $status $out"

# model.freeze_bn: running statistics stay at their initial values (read back with torch.load).
out=$(train --train.run_dir "$work/f" --train.steps 2 --model.freeze_bn true 2>&1) || fail "freeze_bn: $out"
/usr/bin/python3 - "$work/f/checkpoints/step-2.pt" "$work/a/checkpoints/step-20.pt" <<'PY' || fail "freeze_bn statistics"
import sys, torch
frozen, trained = (torch.load(p)["model"] for p in sys.argv[1:])
means = [k for k in frozen if k.endswith("running_mean")]
assert means and all((frozen[k] == 0).all() and (frozen[k.replace("mean", "var")] == 1).all() for k in means)
assert any((trained[k] != 0).any() for k in means), "the unfrozen run's statistics did not move"
PY

# Resuming a 2-rank run on 1 rank: the epoch's consumed samples divide, so it continues; another
# data.seed is refused.
cp -r "$work/a" "$work/g"
out=$("$atrous" train --config "$work/tiny.ini" --train.run_dir "$work/g" --train.steps 22 2>&1) || fail "resume on 1 rank: $out"
grep -q "resuming a run of 2 ranks on 1 ranks" <<<"$out" && [ "$(cat "$work/g/checkpoints/latest")" = "step-22.pt" ] ||
  fail "resume on 1 rank: $out"
out=$(train --train.run_dir "$work/g" --train.steps 24 --data.seed 5 2>&1); status=$?
[ "$status" -eq 1 ] && grep -q "was trained with data.seed = 0, not 5" <<<"$out" || fail "seed mismatch: $status $out"

# 1c. train.resume none where run g holds checkpoints is refused before anything of g changes.
before=$(cd "$work/g" && md5sum metrics.jsonl config.ini checkpoints/*)
out=$(train --train.run_dir "$work/g" --train.steps 2 --train.resume none 2>&1); status=$?
[ "$status" -eq 1 ] && grep -q "train.resume none starts a new run, but train.run_dir '$work/g' holds an earlier run" <<<"$out" ||
  fail "resume none over a run: $status $out"
[ "$(cd "$work/g" && md5sum metrics.jsonl config.ini checkpoints/*)" = "$before" ] || fail "resume none changed run g"

# 2. SIGTERM to one rank and SIGINT (Ctrl-C; it exited 130 without a checkpoint) to the other mid-run:
# checkpoint, exit 75; resume=auto finishes with the same losses.
train --train.run_dir "$work/b" --train.steps 20 --ckpt.every_steps 4 >"$work/b.log" 2>&1 &
launcher=$!
wait_lines "$work/b" 6 "$work/b.log" && ranks=($(ranks_of "$work/b")) && kill -TERM "${ranks[0]}" &&
  kill -INT "${ranks[1]}"
wait $launcher; status=$?
[ "$status" -eq 75 ] || fail "SIGTERM and SIGINT: status $status, expected 75; $(tail -5 "$work/b.log")"
grep -q "stopped by a preemption signal (SIG" "$work/b.log" || fail "no preemption message"
out=$(train --train.run_dir "$work/b" --train.steps 20 --ckpt.every_steps 4 2>&1) || fail "resume b: $out"
grep -q "resuming from" <<<"$out" || fail "run b did not resume"
diff <(losses "$work/a") <(losses "$work/b") >/dev/null || fail "losses after SIGTERM + resume differ:
$(diff <(losses "$work/a") <(losses "$work/b"))"

# 2b. Mixed precision resumes as exactly: a bf16 run resumed from its step-8 checkpoint logs the
# uninterrupted bf16 run's losses for steps 9-12.
train --train.run_dir "$work/p" --train.steps 12 --ckpt.every_steps 4 --train.precision bf16 >"$work/p.log" 2>&1 ||
  fail "bf16 run: $(tail -5 "$work/p.log")"
train --train.run_dir "$work/q" --train.steps 12 --train.precision bf16 --train.resume "$work/p/checkpoints/step-8.pt" \
  >"$work/q.log" 2>&1 || fail "bf16 resume: $(tail -5 "$work/q.log")"
[ "$(losses "$work/q" | wc -l)" -eq 4 ] && diff <(losses "$work/p" | awk '$1 > 8') <(losses "$work/q") >/dev/null ||
  fail "bf16 losses after resume differ:
$(diff <(losses "$work/p" | awk '$1 > 8') <(losses "$work/q"))"

# 2d. LARS and LAMB (the gradient norm clipped) resume as exactly from their step-8 checkpoints; a
# run of one optimizer is not resumed with another: refused naming both, the run left as it was.
for optimizer in lars lamb; do
  train --train.run_dir "$work/$optimizer" --train.steps 12 --ckpt.every_steps 4 --optim.optimizer $optimizer \
    --optim.lr 0.01 --optim.max_grad_norm 0.5 >"$work/$optimizer.log" 2>&1 || fail "$optimizer run: $(tail -5 "$work/$optimizer.log")"
  grep -q "optimizer $optimizer (weight decay 4e-05): state .* MiB" "$work/$optimizer.log" || fail "$optimizer: no state line"
  train --train.run_dir "$work/$optimizer-r" --train.steps 12 --optim.optimizer $optimizer --optim.lr 0.01 \
    --optim.max_grad_norm 0.5 --train.resume "$work/$optimizer/checkpoints/step-8.pt" >"$work/$optimizer-r.log" 2>&1 ||
    fail "$optimizer resume: $(tail -5 "$work/$optimizer-r.log")"
  diff <(losses "$work/$optimizer" | awk '$1 > 8') <(losses "$work/$optimizer-r") >/dev/null ||
    fail "$optimizer losses after resume differ:
$(diff <(losses "$work/$optimizer" | awk '$1 > 8') <(losses "$work/$optimizer-r"))"
done
diff <(losses "$work/lars") <(losses "$work/lamb") >/dev/null && fail "lars and lamb trained alike"
before=$(cd "$work/lamb" && md5sum metrics.jsonl config.ini checkpoints/*)
out=$(train --train.run_dir "$work/lamb" --train.steps 16 --optim.optimizer sgd 2>&1); status=$?
[ "$status" -eq 1 ] && grep -q "written by optim.optimizer lamb, and this run uses sgd" <<<"$out" ||
  fail "lamb resumed with sgd: $status $out"
[ "$(cd "$work/lamb" && md5sum metrics.jsonl config.ini checkpoints/*)" = "$before" ] || fail "the refused resume changed run lamb"
out=$(train --train.run_dir "$work/t" --train.steps 4 --train.target_miou 0.5 2>&1); status=$?
[ "$status" -eq 2 ] && grep -q "option --train.target_miou = 0.5 is not allowed; allowed: 0 unless the run evaluates" <<<"$out" ||
  fail "a target without evaluations: $status $out"

# 2c. model.memory_format channels_last trains on 2 ranks (replication, SyncBatchNorm and the reducer
# on channels-last weights) and computes the same first loss as the contiguous run a (before any
# update, only the order of float sums differs). The gradients that are views of the reducer's
# buckets keep their weights' layout, so autograd has nothing to warn about; and with gradients sent
# as float16 (copied out of the buckets, not views) it trains too.
train --train.run_dir "$work/cl" --train.steps 3 --model.memory_format channels_last >"$work/cl.log" 2>&1 ||
  fail "channels_last run: $(tail -5 "$work/cl.log")"
! grep -q 'layout contract' "$work/cl.log" || fail "channels_last gradients: $(grep -m1 'layout contract' "$work/cl.log")"
train --train.run_dir "$work/cl16" --train.steps 2 --model.memory_format channels_last \
  --dist.allreduce_dtype float16 >"$work/cl16.log" 2>&1 || fail "channels_last, float16 on the wire: $(tail -5 "$work/cl16.log")"
awk -v a="$(losses "$work/a" | awk '$1 == 1 {print $2}')" -v b="$(losses "$work/cl" | awk '$1 == 1 {print $2}')" \
  'BEGIN { d = a - b; exit !(a != "" && b != "" && d < 1e-4 && d > -1e-4) }' ||
  fail "channels_last first loss differs: $(losses "$work/a" | head -1) against $(losses "$work/cl" | head -1)"

# 3. kill -9 of one rank mid-run: the job ends; a half-written checkpoint lies around; resume.
train --train.run_dir "$work/c" --train.steps 20 --ckpt.every_steps 4 >"$work/c.log" 2>&1 &
launcher=$!
wait_lines "$work/c" 10 "$work/c.log" && kill -9 "$(ranks_of "$work/c" | tail -1)"
timeout 60 tail --pid=$launcher -f /dev/null || fail "the job did not end after a rank was killed"
wait $launcher && fail "the job succeeded although a rank was killed"
head -c 1000 "$work/c/checkpoints/$(cat "$work/c/checkpoints/latest")" >"$work/c/checkpoints/.step-12.pt.partial-abcdefghij12"
out=$(train --train.run_dir "$work/c" --train.steps 20 --ckpt.every_steps 4 2>&1) || fail "resume c: $out"
diff <(losses "$work/a") <(losses "$work/c") >/dev/null || fail "losses after kill -9 + resume differ:
$(diff <(losses "$work/a") <(losses "$work/c"))"

# 4. Clear errors.
train --train.run_dir "$work/d" --train.steps 400 >"$work/d.log" 2>&1 &
launcher=$!
wait_lines "$work/d" 1 "$work/d.log"
out=$(train --train.run_dir "$work/d" --train.steps 400 2>&1); status=$?
[ "$status" -ne 0 ] && grep -q "is in use by another training job" <<<"$out" || fail "locked run dir: $status $out"
kill -TERM $(ranks_of "$work/d") 2>/dev/null; wait $launcher

out=$(train --train.run_dir "$work/e" --train.steps 6 --optim.lr 1e12 --optim.warmup_steps 0 2>&1); status=$?
[ "$status" -eq 1 ] && grep -q "the loss is not finite at step" <<<"$out" || fail "NaN: status $status: $out"
[ "$(grep -c 'the loss is not finite' <<<"$out")" -eq 1 ] || fail "NaN error printed more than once"
ls "$work/e/checkpoints"/step-*.pt >/dev/null 2>&1 && fail "a checkpoint was written from non-finite weights"

# A sample that only one rank reads fails its checksum: that rank's step fails at the agreement, so the
# job stops at once with that rank's error (not after dist.timeout_s, with the other rank waiting).
corrupt_sample "$work/train.h5" "$work/changed.h5" 3
began=$SECONDS
out=$(train --train.run_dir "$work/changed" --train.steps 8 --data.train "$work/changed.h5" --dist.timeout_s 120 2>&1)
status=$?
[ "$status" -eq 1 ] && [ "$(grep -c "sample 3 is corrupted" <<<"$out")" -eq 1 ] ||
  fail "a corrupted sample on one rank: status $status: $(tail -5 <<<"$out")"
[ $((SECONDS - began)) -lt 60 ] || fail "a corrupted sample on one rank took $((SECONDS - began)) s to stop the job"
# The same in evaluation: the rank that reads sample 1 says so, the other does not wait for it.
corrupt_sample "$work/val.h5" "$work/changed-val.h5" 1
began=$SECONDS
out=$("${mpi2[@]}" "$atrous" eval --config "$work/tiny.ini" --eval.checkpoint "$work/a" --eval.data "$work/changed-val.h5" \
  --eval.out "$work/changed-eval.json" --dist.timeout_s 120 2>&1)
status=$?
[ "$status" -eq 1 ] && grep -qF "sample 1 is corrupted" <<<"$out" && grep -qF "rank(s) 1 could not score" <<<"$out" ||
  fail "a corrupted sample in evaluation on one rank: status $status: $(tail -5 <<<"$out")"
[ $((SECONDS - began)) -lt 60 ] || fail "a corrupted sample in evaluation took $((SECONDS - began)) s to stop the job"

head -c 5000 "$work/a/checkpoints/step-20.pt" >"$work/truncated.pt"
out=$("$atrous" eval --config "$work/tiny.ini" --eval.checkpoint "$work/truncated.pt" --eval.data "$work/val.h5" 2>&1)
status=$?
[ "$status" -eq 1 ] && grep -q "truncated.pt" <<<"$out" || fail "truncated checkpoint: $status $out"

finish train
