#!/usr/bin/env bash
# launcher_signals_test.sh ATROUS DATASETS_DIR "LAUNCHER-2-RANKS": what a launcher (Open MPI's
# mpirun) makes of signals sent to it rather than to the ranks, as docs/usage.md states it:
#   - SIGUSR1 to mpirun is forwarded to every rank: the ranks agree on it, write a checkpoint marked
#     "(preempted)" and exit 75, and mpirun exits 75; train.resume auto continues from that step.
#   - SIGTERM to mpirun ends the job: mpirun sends SIGCONT, SIGTERM and SIGKILL to the ranks,
#     odls_base_sigkill_timeout (1 s) apart, and exits 1 whatever they return. The ranks checkpoint on
#     SIGTERM, but the 1 s is only enough for a tiny model like this one, not always: the test
#     accepts either checkpoint, and the run resumes from the newest that was completed.
set -u
atrous=$1
datasets=$2
IFS=';' read -ra mpi2 <<<"$3"
source "$(dirname "$0")/../e2e/common.sh"

make_packs 8 8 2
write_tiny_ini <<INI
[train]
steps = 1000
[ckpt]
every_steps = 3
INI
start() { "${mpi2[@]}" "$atrous" train --config "$work/tiny.ini" --train.run_dir "$@"; }
# start_launcher RUN_DIR LOG: the launcher in the background, its own pid in $launcher (not a subshell's).
start_launcher() {
  "${mpi2[@]}" "$atrous" train --config "$work/tiny.ini" --train.run_dir "$1" >"$2" 2>&1 &
  launcher=$!
}

# 1. SIGUSR1 to the launcher: checkpoint, 75.
start_launcher "$work/usr1" "$work/usr1.log"
wait_lines "$work/usr1" 4 "$work/usr1.log" && kill -USR1 $launcher
wait $launcher
status=$?
[ "$status" -eq 75 ] || fail "SIGUSR1 to the launcher: status $status, expected 75; $(tail -3 "$work/usr1.log")"
grep -q "(preempted)" "$work/usr1.log" || fail "SIGUSR1 to the launcher: no preemption checkpoint"
last=$(losses "$work/usr1" | tail -1 | cut -d' ' -f1)
[ -f "$work/usr1/checkpoints/step-$last.pt" ] || fail "SIGUSR1: no checkpoint of the last logged step $last"
start "$work/usr1" --train.steps $((last + 1)) >"$work/usr1-resume.log" 2>&1 ||
  fail "resume after SIGUSR1: $(tail -3 "$work/usr1-resume.log")"
grep -q "resum.*step-$last.pt" "$work/usr1-resume.log" || fail "the resume did not start from step-$last.pt"

# 2. SIGTERM to the launcher: the job ends at once, not with 75; it resumes from a completed checkpoint.
start_launcher "$work/term" "$work/term.log"
wait_lines "$work/term" 5 "$work/term.log" && kill -TERM $launcher
began=$SECONDS
wait $launcher
status=$?
[ "$status" -ne 0 ] && [ "$status" -ne 75 ] || fail "SIGTERM to the launcher: status $status; docs/usage.md says 1"
[ $((SECONDS - began)) -le 15 ] || fail "SIGTERM to the launcher: the job took $((SECONDS - began)) s to end"
# mpirun's SIGKILL may still be tearing the ranks down when mpirun itself has exited (on a loaded
# machine, for a moment); a rank left behind is one that is still there seconds later.
gone_by=$((SECONDS + 5))
while [ -n "$(ranks_of "$work/term")" ] && [ "$SECONDS" -lt "$gone_by" ]; do sleep 0.2; done
[ -z "$(ranks_of "$work/term")" ] || fail "SIGTERM to the launcher left ranks behind (5 s after it ended)"
start "$work/term" --train.steps 12 >"$work/term-resume.log" 2>&1 ||
  fail "resume after SIGTERM to the launcher: $(tail -3 "$work/term-resume.log")"
grep -qE "resuming from .*step-[0-9]+.pt" "$work/term-resume.log" || fail "the resume did not start from a checkpoint"

finish launcher_signals
