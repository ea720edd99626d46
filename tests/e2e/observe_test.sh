#!/usr/bin/env bash
# observe_test.sh ATROUS DATASETS_DIR LAUNCH_DIR "LAUNCHER-2-RANKS": seeing a run, end to end on 2 ranks:
#   - TensorBoard: an independent reader (tests/observe/read_events.py: protoc's own parser, CRC-32C)
#     checks the framing, the CRCs and the events: every scalar, the evaluation with its per-class
#     IoU and its picture; a run killed with kill -9 and resumed merges without a step twice;
#     train.tensorboard false writes nothing;
#   - the timeline: valid JSON, one process per rank, the steps of train.timeline_steps only, every
#     collective begun and ended, gradient buckets in flight while backward runs;
#   - the stall inspector: a rank stopped with SIGSTOP is named within dist.stall_warning_s + 5 s,
#     and the job ends at dist.timeout_s (not before; within a generous bound after) with the same
#     name in its error;
#   - pictures: eval.visualize's grid and launch/plot-run's curves open in PIL.
set -u
atrous=$1
datasets=$2
launch=$3
IFS=';' read -ra mpi2 <<<"$4"
reader=$(dirname "$0")/../observe/read_events.py
# shellcheck source=tests/e2e/common.sh
source "$(dirname "$0")/common.sh"

make_packs 3 24 6
printf '[data]\nval = %s/val.h5\n[dist]\nbucket_mb = 1\n' "$work" | write_tiny_ini_every 2
train() { "${mpi2[@]}" "$atrous" train --config "$work/tiny.ini" "$@"; }

# 1. TensorBoard scalars, evaluations and pictures; the timeline of steps 3..6.
out=$(train --train.run_dir "$work/a" --train.steps 8 --train.eval_every 4 --train.tensorboard_images 2 \
  --train.timeline "$work/a/trace.json" --train.timeline_steps 3:6 2>&1) || fail "run a: $out"
/usr/bin/python3 "$reader" "$work/a/tensorboard" >"$work/a.events" || fail "reader on run a"
/usr/bin/python3 - "$work/a.events" <<'PY' || fail "TensorBoard events of run a: $(cat "$work/a.events")"
import json, sys
events = [json.loads(line) for line in open(sys.argv[1])]
assert events[0]["file_version"] == "brain.Event:2"
assert events[1].get("session_log") == "START" and events[1]["step"] == 1, events[1]
logged = [e for e in events if "loss/total" in e["scalars"]]
assert [e["step"] for e in logged] == [2, 4, 6, 8], [e["step"] for e in logged]
for tag in ["loss/merged", "train/lr", "train/grad_norm", "train/images_per_s", "train/step_seconds", "time/data_wait",
            "comm/exposed", "comm/gradients", "comm/batch_norm", "comm/loss_reduction", "comm/step_agreement"]:
    assert all(tag in e["scalars"] for e in logged), tag
assert all(0 < e["scalars"]["train/lr"] < 1 and e["scalars"]["loss/total"] > 0 for e in logged)
assert all(0 < e["scalars"]["train/grad_norm"] < 1e6 for e in logged)  # logged with clipping off too
evals = [e for e in events if "eval/miou" in e["scalars"]]
assert [e["step"] for e in evals] == [4, 8], evals
for e in evals:
    assert 0 <= e["scalars"]["eval/miou"] <= 1 and "eval/pixel_accuracy" in e["scalars"]
    assert "eval_iou/background" in e["scalars"], e["scalars"]
    image = e["images"]["eval/predictions"]
    assert image["png_signature_ok"] and image["colorspace"] == 3 and image["width"] > 3 * 65, image
PY
/usr/bin/python3 - "$work/a/trace.json" <<'PY' || fail "timeline of run a"
import json, sys
from collections import Counter
trace = json.load(open(sys.argv[1]))
events = trace["traceEvents"]
assert {e["pid"] for e in events} == {0, 1}, "one process per rank"
names = {e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "process_name"}
assert len(names) == 2 and all(n.startswith("rank ") for n in names), names
for rank in (0, 1):
    spans = [e for e in events if e["pid"] == rank and e["ph"] == "X"]
    count = Counter(e["name"] for e in spans)
    for phase in ("data", "forward", "loss", "backward", "gradients", "agreement", "optimizer"):
        assert count[phase] == 4, (rank, phase, count[phase])  # steps 3..6 only
    assert any(e["name"] == "evaluation" for e in spans), "the evaluation at step 4"
    begins = {e["id"]: e for e in events if e["pid"] == rank and e["ph"] == "b"}
    ends = {e["id"]: e for e in events if e["pid"] == rank and e["ph"] == "e"}
    assert begins and begins.keys() == ends.keys(), "every collective begins and ends"
    assert all(ends[i]["ts"] >= begins[i]["ts"] for i in begins)
    backward = [e for e in spans if e["name"] == "backward"]
    buckets = [b for b in begins.values() if b["name"] == "gradients allreduce"]
    overlapping = [b for b in buckets
                   if any(s["ts"] <= b["ts"] < s["ts"] + s["dur"] for s in backward)]
    assert overlapping, "no gradient bucket was issued while backward ran (rank %d)" % rank
ids = [{e["id"] for e in events if e["pid"] == rank and e["ph"] == "b"} for rank in (0, 1)]
assert not ids[0] & ids[1], "async ids are per rank, or the ranks' collectives share one track"
PY
ls "$work/a/trace.json".rank-* 2>/dev/null && fail "timeline parts left behind"

# 2. Resumed after kill -9: TensorBoard's restart rule keeps every step once.
train --train.run_dir "$work/b" --train.steps 200 --ckpt.every_steps 4 >"$work/b.log" 2>&1 &
launcher=$!
wait_lines "$work/b" 3 && kill -9 "$(ranks_of "$work/b" | tail -1)"
wait $launcher && fail "run b survived kill -9"
out=$(train --train.run_dir "$work/b" --train.steps 10 --ckpt.every_steps 4 2>&1) || fail "resume b: $out"
[ "$(ls "$work/b/tensorboard" | wc -l)" -eq 2 ] || fail "a resumed run adds a second event file: $(ls "$work/b/tensorboard")"
merged=$(/usr/bin/python3 "$reader" --merge "$work/b/tensorboard") || fail "merge after resume: $merged"
grep -q '{"tag": "loss/total", "kind": "scalar", "steps": \[2, 4, 6, 8, 10\]}' <<<"$merged" ||
  fail "steps after resume: $(grep loss/total <<<"$merged")"
out=$(train --train.run_dir "$work/c" --train.steps 2 --train.tensorboard false 2>&1) || fail "run c: $out"
[ -e "$work/c/tensorboard" ] && fail "train.tensorboard false wrote $work/c/tensorboard"

# 3. The stall inspector names a stopped rank, and the timeout error names it too.
train --train.run_dir "$work/d" --train.steps 500 --train.log_every 1 --dist.stall_warning_s 2 \
  --dist.timeout_s 15 >"$work/d.log" 2>&1 &
launcher=$!
wait_lines "$work/d" 3 && kill -STOP "$(ranks_of "$work/d" | tail -1)"
stopped=$SECONDS
stopped_rank=$(tr '\0' '\n' </proc/"$(ranks_of "$work/d" | tail -1)"/environ | sed -n 's/^OMPI_COMM_WORLD_RANK=//p')
[ -n "$stopped_rank" ] || fail "the stopped process has no OMPI_COMM_WORLD_RANK (this test needs Open MPI's mpirun)"
named=""
while [ $((SECONDS - stopped)) -le 7 ]; do
  grep -q "stall at step .* not reached by rank $stopped_rank " "$work/d.log" && { named=yes; break; }
  sleep 0.2
done
[ -n "$named" ] || fail "no stall warning naming rank $stopped_rank within 2 + 5 s: $(tail -3 "$work/d.log")"
timeout 60 tail --pid=$launcher -f /dev/null || fail "the job did not end after dist.timeout_s"
wait $launcher && fail "the job with a stopped rank succeeded"
ended=$((SECONDS - stopped))
[ "$ended" -ge 13 ] && [ "$ended" -le 50 ] || fail "the job ended $ended s after the stop (dist.timeout_s 15)"
grep -q "did not complete within dist.timeout_s = 15 s.*not reached by rank $stopped_rank " "$work/d.log" ||
  fail "the timeout error does not name rank $stopped_rank: $(grep error "$work/d.log")"
pkill -9 -f "^$atrous train --config $work/tiny.ini --train.run_dir $work/d" 2>/dev/null

# 4. Pictures: eval.visualize's grid, and the curves of launch/plot-run.
out=$("$atrous" eval --config "$work/tiny.ini" --eval.checkpoint "$work/a/checkpoints/step-8.pt" \
  --eval.data "$work/val.h5" --eval.out "$work/eval.json" --eval.visualize 3 --eval.visualize_out "$work/grid.png" 2>&1) ||
  fail "eval.visualize: $out"
out=$("$launch/plot-run" "$work/a" "$work/plots" 2>&1) || fail "plot-run: $out"
/usr/bin/python3 - "$work" <<'PY' || fail "pictures"
import sys
from PIL import Image
work = sys.argv[1]
grid = Image.open(f"{work}/grid.png")
assert grid.mode == "RGB" and grid.width >= 3 * 128 and grid.height >= 3 * 128, (grid.mode, grid.size)
colours = {c for _, c in grid.getcolors(1 << 20)}
assert (255, 255, 255) in colours, "ignore pixels and legend"
for name in ("loss", "miou"):
    plot = Image.open(f"{work}/plots/{name}.png")
    assert plot.width > 300 and plot.height > 200 and len(plot.getcolors(1 << 20)) > 2, name
PY
out=$("$atrous" eval --config "$work/tiny.ini" --eval.checkpoint "$work/a/checkpoints/step-8.pt" \
  --eval.data "$work/val.h5" --eval.visualize -1 2>&1); status=$?
[ "$status" -eq 2 ] && grep -q "option --eval.visualize" <<<"$out" || fail "eval.visualize -1: $status $out"

finish "observe e2e"
