#!/usr/bin/env bash
# stopped_rank_test.sh ATROUS DATASETS_DIR "LAUNCHER-2-RANKS": a rank stopped (SIGSTOP) ends the job
# at dist.timeout_s with an error, at every stage:
#   - before MPI start-up (the rank stops itself before exec): the other rank's start-up deadline;
#   - mid-run: the collective's timeout names the rank (the stall inspector, on here, knows it; its
#     own test is in e2e.observe).
# Each job must end within dist.timeout_s + 30 s of the stop, with no process of it left behind.
# (A rank stopped after MPI start-up but before the first collective is named by rank 0: the
# arrival check's own test is in tests/mpi/arrival_check_test.cpp.)
set -u
atrous=$1
datasets=$2
IFS=';' read -ra mpi2 <<<"$3"
source "$(dirname "$0")/../e2e/common.sh"
timeout_s=8

make_packs 7 8 2
write_tiny_ini <<INI
[dist]
timeout_s = $timeout_s
stall_warning_s = 2
INI
# ends_in_time LOG START: the job logging to LOG, started at START (seconds), ended in time, with an
# error naming the timeout, and left no process behind.
ends_in_time() {
  local took=$((SECONDS - $2))
  [ "$took" -le $((timeout_s + 30)) ] || fail "$1: the job took $took s (dist.timeout_s = $timeout_s)"
  grep -q "dist.timeout_s = $timeout_s" "$1" || fail "$1: no timeout error: $(grep -m3 error: "$1")"
  sleep 1
  pgrep -f "$work/tiny.ini" >/dev/null && fail "$1: processes left: $(pgrep -af "$work/tiny.ini")"
}

# 1. Rank 1 stops before it starts atrous: rank 0 waits in MPI start-up.
start=$SECONDS
"${mpi2[@]}" bash -c '[ "${OMPI_COMM_WORLD_RANK:-${PMI_RANK:-0}}" = 1 ] && kill -STOP $$; exec "$@"' _ \
  "$atrous" train --config "$work/tiny.ini" --train.run_dir "$work/a" --train.steps 3 >"$work/a.log" 2>&1 &&
  fail "a rank stopped before start-up: exit 0"
ends_in_time "$work/a.log" $start
grep -q "MPI start-up" "$work/a.log" || fail "the start-up error does not say where: $(grep -m3 error: "$work/a.log")"

# 2. Rank 1 stops mid-run, after 3 steps: the collective's timeout names it.
"${mpi2[@]}" "$atrous" train --config "$work/tiny.ini" --train.run_dir "$work/c" --train.steps 400 >"$work/c.log" 2>&1 &
launcher=$!
wait_lines "$work/c" 3 "$work/c.log" && kill -STOP "$(ranks_of "$work/c" | tail -1)"
start=$SECONDS
timeout $((timeout_s + 60)) tail --pid=$launcher -f /dev/null
wait $launcher && fail "a rank stopped mid-run: exit 0"
ends_in_time "$work/c.log" $start
grep -q "not reached by rank 1\|rank(s) 1 did not reach" "$work/c.log" || fail "the mid-run error does not name rank 1: $(grep -m3 error: "$work/c.log")"
finish stopped_rank
