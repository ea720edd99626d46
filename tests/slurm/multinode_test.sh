#!/usr/bin/env bash
# multinode_test.sh ATROUS REPO_ROOT: jobs across the nodes of a 2-node SLURM cluster on this machine
# (cluster/local/up --nodes 2: each node a slurmd with its own hostname and network namespace, joined
# by a bridge), so ranks on different nodes talk TCP through two network stacks:
#   1. `atrous info` on 2 nodes x 2 tasks: 2 nodes, local ranks 0..1 on each, the rank -> host map,
#      shared memory within a node and TCP between nodes;
#   2. one training as 2 nodes x 2 tasks (srun), 2 nodes x 2 tasks (mpirun in the allocation) and
#      1 node x 4 tasks: the same global batch, so the losses of the first 6 steps agree (tolerance
#      below); the 2-node job's gradients crossed the bridge (node2's interface counters);
#   3. preemption of a 2-node job: USR1 -> checkpoint -> requeue -> resume -> step 30, each step once;
#   4. kill -9 of rank 3 on node2, under srun and under mpirun: the job ends within 30 s, the
#      launcher names the rank and node2, and no atrous process is left on either node;
#   5. node2 set DOWN mid-job (submitted with -N 1-2): the job is requeued; shrunk to the remaining node
#      (scontrol update JobId=J NumNodes=1 NumTasks=2) it resumes from its checkpoint on 2 ranks;
#   6. launch/experiments/large-batch --launcher slurm: its job array's 2-rank runs spread over both
#      nodes, and every run is evaluated.
#   0. (first) a failed `up` removes the namespaces and interfaces it had made.
# Needs root (network namespaces); the cluster is brought down on every exit, failures included.
set -u
atrous=$1
root=$2
# shellcheck source=tests/slurm/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

export ATROUS_CLUSTER_NETWORK=namespaces
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: the 2-node cluster needs root (network, UTS and mount namespaces); run the slurm tests as root"
  exit 77
fi
# 0. A failed up leaves nothing behind: slurmctld cannot have its port, up says so and removes the
# namespaces, veths and bridge it had made.
/usr/bin/python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(); time.sleep(60)' \
  "$ATROUS_CLUSTER_PORT" &
blocker=$!
for _ in $(seq 100); do ss -ltnH "sport = :$ATROUS_CLUSTER_PORT" | grep -q . && break; sleep 0.1; done
"$root/cluster/local/up" --nodes 2 >"$work/failed-up.log" 2>&1 && fail "up succeeded with slurmctld's port taken"
kill "$blocker"
grep -q "port $ATROUS_CLUSTER_PORT or one of the 2 after it is taken" "$work/failed-up.log" ||
  fail "the failed up did not name the port: $(tail -3 "$work/failed-up.log")"
[ -z "$(ip netns list | grep "^atr${ATROUS_CLUSTER_PORT}n")$(ip -o link show | grep "atr${ATROUS_CLUSTER_PORT}")" ] ||
  fail "a failed up left namespaces or interfaces: $(ip netns list) $(ip -o link show | grep atr)"
# 4 CPUs per node: the 1-node x 4-task job fits on one node (oversubscribed on smaller machines).
"$root/cluster/local/up" --nodes 2 --cpus 4 || { echo "FAIL: the 2-node cluster did not come up"; exit 1; }
node_ns() { echo "atr${ATROUS_CLUSTER_PORT}n$1"; }
# atrous_pids NODE JOB: the atrous processes of a job running on a node (in its network namespace).
atrous_pids() {
  local pid
  for pid in $(ip netns pids "$(node_ns "$1")" 2>/dev/null); do
    [[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" == */atrous ]] &&
      tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "SLURM_JOB_ID=$2" && echo "$pid"
  done
}
rx_bytes() { ip -n "$(node_ns "$1")" -s -j link show eth0 | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["stats64"]["rx"]["bytes"])'; }
make_tiny_pack

# 1. What atrous sees of the layout.
if info=$(cd "$work" && timeout 120 srun -N 2 --ntasks-per-node 2 --mpi=pmix "$atrous" info 2>&1); then
  grep -q "world: 4 rank(s) on 2 node(s): node1 (ranks 0-1), node2 (ranks 2-3)" <<<"$info" || fail "info: $info"
  for rank in 0 1 2 3; do
    node=$((rank / 2 + 1)) local=$((rank % 2))
    grep -q "rank $rank  local $local/2  host node$node " <<<"$info" || fail "info: rank $rank is not local $local on node$node"
  done
  [ "$(grep -c 'MPI within the node: shared memory (vader_segment.*to other nodes: TCP ([1-9]' <<<"$info")" -eq 4 ] ||
    fail "info: not shared memory within and TCP between the nodes on every rank: $(grep 'MPI within' <<<"$info")"
else
  fail "atrous info on 2 nodes: $info"
fi

# 2. The same training on 2 nodes (srun and mpirun) and on 1 node.
rx_before=$(rx_bytes 2)
declare -A job
job[srun2]=$(cd "$work" && sbatch --parsable -N 2 --ntasks-per-node 2 -o "$work/srun2.out" \
  "$root/launch/slurm/train-cpu.sbatch" "$work/tiny.ini" "$work/srun2" --train.steps 6)
wait_done "${job[srun2]}" 300 || fail "2-node srun job still $(state_of "${job[srun2]}")"
rx_after=$(rx_bytes 2)
job[mpirun2]=$(cd "$work" && sbatch --parsable -N 2 --ntasks-per-node 2 -o "$work/mpirun2.out" \
  "$root/launch/slurm/train-mpirun.sbatch" "$work/tiny.ini" "$work/mpirun2" --train.steps 6)
job[srun1]=$(cd "$work" && sbatch --parsable -N 1 --ntasks-per-node 4 -o "$work/srun1.out" \
  "$root/launch/slurm/train-cpu.sbatch" "$work/tiny.ini" "$work/srun1" --train.steps 6)
for run in mpirun2 srun1; do wait_done "${job[$run]}" 300 || fail "$run job still $(state_of "${job[$run]}")"; done
for run in srun2 mpirun2 srun1; do
  check_completed "${job[$run]}" "$run"
  check_steps "$work/$run" 6
done
grep -q "world: 4 rank(s) on 2 node(s)" "$work/srun2.out" && grep -q "world: 4 rank(s) on 2 node(s)" "$work/mpirun2.out" &&
  grep -q "world: 4 rank(s) on 1 node(s)" "$work/srun1.out" || fail "the jobs did not run on the layouts asked for"
# Every rank reads the same shard and the allreduce algorithm depends on the communicator's size,
# not on the transport, so the sums happen in the same order and the losses are equal; 1e-5
# relative leaves room for an MPI that reorders a float32 sum across nodes (a few ulps, 6e-8 each,
# grown over 6 steps of training), far below the change of one step (> 1e-2).
/usr/bin/python3 - "$work" <<'PY' || fail "the losses differ between the layouts"
import json, sys
losses = {run: [json.loads(line)["loss"] for line in open(f"{sys.argv[1]}/{run}/metrics.jsonl")]
          for run in ("srun2", "mpirun2", "srun1")}
for run in ("srun2", "mpirun2"):
    for step, (a, b) in enumerate(zip(losses[run], losses["srun1"]), 1):
        if abs(a - b) > 1e-5 * abs(b):
            sys.exit(f"step {step}: {run} {a} against 1 node x 4 tasks {b}")
print("losses of 6 steps on 2 nodes (srun, mpirun) and 1 node:", losses["srun1"])
PY
# MobileNetV2's gradients (about 9 MB in float32) cross node2's interface in every step.
[ $((rx_after - rx_before)) -gt $((6 * 8000000)) ] ||
  fail "node2 received only $((rx_after - rx_before)) bytes over its interface during the 2-node job"
echo "node2 received $(((rx_after - rx_before) / 1000000)) MB over its interface during 6 steps"

# 3. Preemption of a 2-node job.
pre=$(cd "$work" && sbatch --parsable -N 2 --ntasks-per-node 2 -o "$work/preempt.out" \
  "$root/launch/slurm/train-cpu.sbatch" "$work/tiny.ini" "$work/preempt" --train.steps 30 --ckpt.every_steps 0)
wait_steps "$work/preempt" 5 240 || fail "the 2-node job to preempt did not reach step 5"
scancel --signal=USR1 "$pre" || fail "scancel --signal=USR1 $pre"

# 4. kill -9 of rank 3 on node2 (alongside 3: the cluster has room for both jobs), for srun and then
# for mpirun in the allocation; each job ends within 30 s, its launcher names the rank and node2.
kill_rank_3() {  # kill_rank_3 NAME SCRIPT RANK_VARIABLE MESSAGE
  local job victim="" pid started
  job=$(cd "$work" && sbatch --parsable -N 2 --ntasks-per-node 2 -o "$work/$1.out" \
    "$root/launch/slurm/$2" "$work/tiny.ini" "$work/$1" --train.steps 400)
  wait_steps "$work/$1" 3 240 || fail "$1: the 2-node job to kill did not reach step 3"
  for pid in $(atrous_pids 2 "$job"); do
    tr '\0' '\n' <"/proc/$pid/environ" | grep -qx "$3=3" && victim=$pid
  done
  [ -n "$victim" ] || { fail "$1: rank 3 of job $job is not running on node2 ($(atrous_pids 2 "$job"))"; return; }
  kill -9 "$victim"
  started=$SECONDS
  wait_done "$job" 30 || fail "$1: the job lived on for 30 s after rank 3 was killed"
  echo "$1: the job ended $((SECONDS - started)) s after rank 3 on node2 was killed"
  [ "$(state_of "$job")" = FAILED ] || fail "$1: the job with a killed rank ended $(state_of "$job")"
  grep -q "$4" "$work/$1.out" || fail "$1: no message naming rank 3 and node2: $(tail -5 "$work/$1.out")"
  sleep 2
  local left
  left="$(atrous_pids 1 "$job") $(atrous_pids 2 "$job")"
  [ -z "${left// /}" ] || fail "$1: atrous processes left after the job ended: $left"
}
kill_rank_3 killed-srun train-cpu.sbatch SLURM_PROCID "node2: task 3: Killed"
kill_rank_3 killed-mpirun train-mpirun.sbatch OMPI_COMM_WORLD_RANK "process rank 3 with PID [0-9]* on node node2 exited on signal 9"

# 3, continued: the preempted job requeues and completes.
deadline=$((SECONDS + 120))
until [ "$(field_of "$pre" Restarts)" = 1 ] || [ $SECONDS -ge $deadline ]; do sleep 0.5; done
wait_done "$pre" 300 || fail "the preempted job still $(state_of "$pre") after its requeue"
check_completed "$pre" "the preempted 2-node job"
grep -q "checkpoint .*(preempted)" "$work/preempt.out" || fail "the 2-node job wrote no preemption checkpoint"
grep -q "restart 1) on node\[1-2\]" "$work/preempt.out" && grep -q "resuming from .*step-" "$work/preempt.out" ||
  fail "the 2-node job did not resume on both nodes: $(grep -E 'run-step|resum' "$work/preempt.out")"
[ "$(cat "$work/preempt/checkpoints/latest" 2>/dev/null)" = step-30.pt ] || fail "the preempted job did not end at step 30"
check_steps "$work/preempt" 30

# 5. A node goes DOWN mid-job.
# A node range (-N 1-2): sbatch then fixes no task count in the job's environment, so the requeued
# job can be shrunk to the node that is left.
down=$(cd "$work" && sbatch --parsable -N 1-2 --ntasks-per-node 2 -o "$work/down.out" \
  "$root/launch/slurm/train-cpu.sbatch" "$work/tiny.ini" "$work/down" --train.steps 40)
wait_steps "$work/down" 10 240 || fail "the job to lose a node did not reach step 10"
grep -q "world: 4 rank(s) on 2 node(s)" "$work/down.out" || fail "the job to lose a node did not start on both nodes"
scontrol update NodeName=node2 State=DOWN Reason="multinode test" || fail "scontrol update State=DOWN"
deadline=$((SECONDS + 60))
until [ "$(state_of "$down")" = PENDING ] || [ $SECONDS -ge $deadline ]; do sleep 0.5; done
[ "$(state_of "$down")" = PENDING ] && [ "$(field_of "$down" Restarts)" = 1 ] ||
  fail "the job was not requeued when node2 went down: $(state_of "$down"), restarts $(field_of "$down" Restarts)"
scontrol update JobId="$down" NumNodes=1 NumTasks=2 || fail "scontrol update JobId=$down NumNodes=1 NumTasks=2"
wait_done "$down" 300 || fail "the job on the remaining node still $(state_of "$down")"
check_completed "$down" "the job that lost node2"
# SLURM sends the step SIGTERM; node2's ranks still live here (only its state changed), so all
# four agree, checkpoint and exit 75.
grep -q "checkpoint .*(preempted)" "$work/down.out" || fail "no checkpoint when node2 went down"
grep -q "restart 1) on node1:" "$work/down.out" && grep -q "resuming a run of 4 ranks on 2 ranks" "$work/down.out" &&
  grep -q "resuming from .*step-" "$work/down.out" ||
  fail "the job did not resume on node1 with 2 ranks: $(grep -E 'run-step|resum' "$work/down.out")"
[ "$(cat "$work/down/checkpoints/latest" 2>/dev/null)" = step-40.pt ] || fail "the job that lost node2 did not end at step 40"
check_steps "$work/down" 40
scontrol update NodeName=node2 State=RESUME

# 6. The large-batch sweep as a job array over both nodes (2 batch sizes x 2 seeds, 1 epoch at most).
if (cd "$work" && "$root/launch/experiments/large-batch" --launcher slurm --out "$work/sweep" --batches "2 4" \
  --recipes sgd-linear --seeds "0 1" --max-epochs 1 --target 1 --warmup-epochs 0.25 --config "$work/tiny.ini" \
  --train "$work/train.h5" --val "$work/val.h5") >"$work/sweep.log" 2>&1; then
  [ "$(grep -c '^| sgd-linear |' "$work/sweep/results.md")" -eq 2 ] || fail "the sweep's table: $(cat "$work/sweep/results.md")"
  for node in node1 node2; do
    grep -q "restart 0) on $node:" "$work"/sweep/runs/*.out || fail "no run of the sweep's job array on $node"
  done
else
  fail "the sweep as a job array on 2 nodes: $(tail -5 "$work/sweep.log")"
fi

if [ $failures -gt 0 ]; then
  echo "multinode test: $failures failure(s); the daemons' logs end:"
  tail -n 15 "$ATROUS_CLUSTER_DIR"/log/slurm*.log
  for out in "$work"/*.out; do echo "--- $out"; grep -vE '^[a-z_0-9]+ = |^\[[a-z_]+\]$' "$out" | tail -n 40; done
  exit 1
fi
echo "multinode test: all checks passed"
