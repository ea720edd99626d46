#!/usr/bin/env bash
# slurm_test.sh ATROUS REPO_ROOT: the batch scripts of launch/slurm/ on a real SLURM cluster
# (cluster/local/up: munged, slurmctld, slurmd on this machine, state in a temporary folder):
#   1. train-cpu.sbatch, 2 tasks started by srun --mpi=pmix: the job completes, checkpoints exist,
#      metrics.jsonl and progress lines come from rank 0 only (each step exactly once);
#   2. preemption: `scancel --signal=USR1` mid-run -> every rank checkpoints and exits 75 -> the job
#      requeues itself -> resumes from the checkpoint -> completes with the same final step, every
#      step logged exactly once;
#   3. the same for train-mpirun.sbatch (mpirun inside the allocation), USR1 to its batch shell;
#   4. sweep-array.sbatch: a 2-task array, each line of the sweep file in its own run directory;
#   5. launch/experiments/large-batch --launcher slurm: two batch sizes, CSV, table and plot.
# Every job is submitted from the work folder, without ATROUS_HOME: the scripts find their checkout.
# The cluster is brought down on every exit, failures included.
set -u
atrous=$1
root=$2
# shellcheck source=tests/slurm/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

cpus=$(nproc)
[ "$cpus" -lt 4 ] && cpus=4  # two 2-task jobs side by side (oversubscribed on smaller machines)
"$root/cluster/local/up" --cpus "$cpus" || { echo "FAIL: the local cluster did not come up"; exit 1; }

make_tiny_pack

# 1. A 2-task job through srun --mpi=pmix.
job=$(cd "$work" && sbatch --parsable -o "$work/job1.out" "$root/launch/slurm/train-cpu.sbatch" "$work/tiny.ini" \
  "$work/run1" --train.steps 8)
wait_done "$job" 300 || fail "job 1 still $(state_of "$job") after 300 s"
[ "$(state_of "$job")" = COMPLETED ] && [ "$(field_of "$job" ExitCode)" = 0:0 ] ||
  fail "job 1 ended $(state_of "$job") exit $(field_of "$job" ExitCode): $(tail -20 "$work/job1.out")"
[ "$(cat "$work/run1/checkpoints/latest" 2>/dev/null)" = step-8.pt ] && [ -f "$work/run1/checkpoints/step-4.pt" ] ||
  fail "job 1: checkpoints $(ls "$work/run1/checkpoints" 2>&1)"
check_steps "$work/run1" 8
[ "$(grep -c 'INFO  step 5/8 ' "$work/job1.out")" -eq 1 ] || fail "job 1: progress lines not printed once (rank 0 only)"
grep -q "world: 2 rank(s)" "$work/job1.out" || fail "job 1 did not run on 2 ranks: $(grep world: "$work/job1.out")"

# 2. Preemption, both launchers at once (the cluster declares 4 CPUs, so the two 2-task jobs run side
# by side and SLURM's requeue delays overlap): USR1 mid-run -> every rank checkpoints and exits 75 ->
# run-step requeues the job -> it resumes from the checkpoint -> completes. srun's job gets the signal
# in its step (as --signal=USR1@120 sends it); the mpirun job in its batch shell (--signal=B:USR1),
# which hands it to mpirun, which forwards it to the ranks.
script=([2]=train-cpu.sbatch [3]=train-mpirun.sbatch) scope=([2]="" [3]=--batch) job_of=()
for n in 2 3; do
  job_of[n]=$(cd "$work" && sbatch --parsable -o "$work/job$n.out" "$root/launch/slurm/${script[n]}" "$work/tiny.ini" \
    "$work/run$n" --train.steps 40 --ckpt.every_steps 0)
done
for n in 2 3; do
  deadline=$((SECONDS + 240))
  until [ "$(logged_steps "$work/run$n")" -ge 5 ] || [ $SECONDS -ge $deadline ]; do sleep 0.5; done
  # shellcheck disable=SC2086
  scancel ${scope[n]} --signal=USR1 "${job_of[n]}" || fail "scancel ${scope[n]} --signal=USR1 ${job_of[n]}"
done
# SLURM holds a requeued job back for cred_expire (20 s on the local cluster), which also lets the
# old incarnation's step finish on the node; the test waits it out.
for n in 2 3; do
  job=${job_of[n]}
  deadline=$((SECONDS + 120))
  until [ "$(field_of "$job" Restarts)" = 1 ] || [ $SECONDS -ge $deadline ]; do sleep 0.5; done
  [ "$(field_of "$job" Restarts)" = 1 ] || fail "job $n was not requeued: $(state_of "$job"), $(tail -5 "$work/job$n.out")"
done
for n in 2 3; do
  job=${job_of[n]}
  wait_done "$job" 300 || fail "job $n still $(state_of "$job") after the requeue"
  [ "$(state_of "$job")" = COMPLETED ] && [ "$(field_of "$job" ExitCode)" = 0:0 ] ||
    fail "job $n (${script[n]}) ended $(state_of "$job") exit $(field_of "$job" ExitCode)"
  grep -q "checkpoint .*(preempted)" "$work/job$n.out" || fail "job $n: no preemption checkpoint in its output"
  grep -q "restart 1" "$work/job$n.out" && grep -q "resuming from .*step-" "$work/job$n.out" ||
    fail "job $n did not resume after the requeue: $(grep -E 'run-step|resum' "$work/job$n.out")"
  [ "$(cat "$work/run$n/checkpoints/latest" 2>/dev/null)" = step-40.pt ] || fail "job $n did not finish at step 40"
  check_steps "$work/run$n" 40
  grep -q "world: 2 rank(s)" "$work/job$n.out" || fail "job $n did not run on 2 ranks"
done

# 4. A job array over a sweep file.
printf '# lr sweep\n--optim.lr 0.01 --train.steps 2\n--optim.lr 0.03 --train.steps 3\n' >"$work/sweep.txt"
job=$(cd "$work" && sbatch --parsable --array=0-1 -o "$work/sweep-%a.out" "$root/launch/slurm/sweep-array.sbatch" \
  "$work/tiny.ini" "$work/sweep" "$work/sweep.txt")
for task in 0 1; do
  wait_done "${job}_$task" 300 || fail "array task $task still $(state_of "${job}_$task")"
done
for task in 0 1; do
  grep -q "lr = 0.0[13]  # command line" "$work/sweep-$task.out" || fail "array task $task: its sweep line was not applied"
done
[ "$(cat "$work/sweep/1/sweep-line.txt" 2>/dev/null)" = "--optim.lr 0.03 --train.steps 3" ] || fail "sweep-line.txt of task 1"
check_steps "$work/sweep/1" 3

# 5. The large-batch sweep through SLURM: one job array, each run to its target or cap, into CSV, table
# and plot.
if (cd "$work" && ATROUS=$atrous "$root/launch/experiments/large-batch" --launcher slurm --out "$work/sweep-lb" \
  --batches "2 4" --recipes "sgd-linear local-bn" --seeds 0 --local-bn-per-rank 1 --max-epochs 1 --target 1 \
  --eval-every-epochs 0.5 --warmup-epochs 0.25 --config "$work/tiny.ini" --train "$work/train.h5" \
  --val "$work/val.h5") >"$work/large-batch.log" 2>&1; then
  /usr/bin/python3 - "$work/sweep-lb" <<'EOF' || fail "large-batch results: $(cat "$work/sweep-lb/results.csv")"
import csv, json, sys
out = sys.argv[1]
rows = list(csv.DictReader(open(out + "/results.csv")))
got = [(r["recipe"], r["global_batch"], r["batch_per_rank"], r["accumulate"]) for r in rows]
assert got == [("sgd-linear", "2", "1", "1"), ("local-bn", "2", "1", "1"), ("sgd-linear", "4", "2", "1"),
               ("local-bn", "4", "1", "2")], got
steps = {r["task"]: int(r["steps"]) for r in csv.DictReader(open(out + "/runs.csv"))}
for r in rows:
    target = json.load(open(f"{out}/runs/{r['task']}/target.json"))
    assert target["reached"] is False and target["last_step"] == steps[r["task"]], (r, target)
    assert 0 <= target["best_miou"] <= 1 and float(r["images_per_s"]) > 0, (r, target)
EOF
  grep -q '^| local-bn | 4 | 2 x 1 x 2 | 1 |' "$work/sweep-lb/results.md" || fail "large-batch: no table row for local-bn at 4"
  [ -s "$work/sweep-lb/large-batch.png" ] || fail "large-batch: no plot"
  grep -q "sync_bn = false" "$work/sweep-lb/runs/1/config.ini" || fail "large-batch: local-bn ran with SyncBatchNorm"
else
  fail "large-batch sweep on SLURM: $(tail -5 "$work/large-batch.log")"
fi

if [ $failures -gt 0 ]; then
  echo "slurm test: $failures failure(s); the daemons' logs end:"
  tail -n 15 "$ATROUS_CLUSTER_DIR"/log/slurm*.log
  for out in "$work"/job*.out; do echo "--- $out"; grep -vE '^[a-z_0-9]+ = |^\[[a-z_]+\]$' "$out" | tail -n 12; done
  exit 1
fi
echo "slurm test: all checks passed"
