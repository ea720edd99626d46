#!/usr/bin/env bash
# kill_during_checkpoints_test.sh ATROUS DATASETS_DIR "LAUNCHER-2-RANKS" [KILLS]: a 2-rank run that
# checkpoints every step is killed KILLS times (default 20) with kill -9 of a random rank at a random
# moment of a checkpoint write (0-15 ms after its temporary file appears; the script counts the kills
# that left that file behind, i.e. landed before the rename), and resumed with train.resume auto
# each time. Every restart after a checkpoint must resume from it (never refuse it), and the finished run's metrics.jsonl must hold every
# step exactly once, with the losses of an uninterrupted run. The seed is printed (FAULTS_SEED
# repeats a run). First, deterministically: a run restarted before its first checkpoint logs each
# step once.
set -u
atrous=$1
datasets=$2
IFS=';' read -ra mpi2 <<<"$3"
kills=${4:-20}
source "$(dirname "$0")/../e2e/common.sh"
seed=${FAULTS_SEED:-$(date +%s)}
RANDOM=$seed
echo "seed $seed, $kills kills"
steps=$((2 * kills + 10))

make_packs 5 16 4
write_tiny_ini <<INI
[train]
steps = $steps
[ckpt]
every_steps = 1
keep = 2
[dist]
timeout_s = 60
INI
train() { "${mpi2[@]}" "$atrous" train --config "$work/tiny.ini" --train.run_dir "$@"; }

train "$work/reference" >"$work/reference.log" 2>&1 || fail "the uninterrupted run: $(tail -5 "$work/reference.log")"

# A run that died before its first checkpoint starts again at step 0 and logs each step once.
train "$work/early" --train.steps 3 >/dev/null 2>&1 || fail "run early"
rm -rf "$work/early/checkpoints"
train "$work/early" --train.steps 3 >"$work/early.log" 2>&1 || fail "run early again: $(tail -5 "$work/early.log")"
[ "$(grep -o '"step": [0-9]*, "epoch' "$work/early/metrics.jsonl" | grep -o '[0-9]*' | tr '\n' ' ')" = "1 2 3 " ] ||
  fail "a restart without a checkpoint logged its steps twice: $(cut -c1-40 "$work/early/metrics.jsonl")"

run=$work/killed
in_writes=0
for ((kill = 1; kill <= kills; ++kill)); do
  before=$(cat "$run/metrics.jsonl" 2>/dev/null | wc -l)
  [ "$before" -ge "$steps" ] && { echo "the run finished after $((kill - 1)) kills"; break; }
  train "$run" >"$work/attempt-$kill.log" 2>&1 &
  launcher=$!
  wait_lines "$run" $((before + 1)) "$work/attempt-$kill.log" || break
  victim=$(ranks_of "$run" | shuf -n 1 --random-source=<(yes "$RANDOM"))
  # The next checkpoint write: its temporary file appears; then a random moment of the write.
  deadline=$((SECONDS + 30))
  until compgen -G "$run/checkpoints/*.partial" >/dev/null || [ "$SECONDS" -ge "$deadline" ]; do sleep 0.002; done
  sleep "0.0$(printf '%02d' $((RANDOM % 16)))"
  [ -n "$victim" ] && kill -9 "$victim" 2>/dev/null
  timeout 60 tail --pid=$launcher -f /dev/null || fail "kill $kill: the job did not end after a rank was killed"
  wait $launcher 2>/dev/null
  ls "$run/checkpoints" 2>/dev/null | grep -q '\.partial' && in_writes=$((in_writes + 1))
  grep -q "error:" "$work/attempt-$kill.log" && ! grep -q "exited on signal\|killed\|KILLED\|not reached by\|did not complete" "$work/attempt-$kill.log" &&
    fail "kill $kill: the restart failed by itself: $(grep 'error:' "$work/attempt-$kill.log" | head -3)"
  if [ "$kill" -gt 1 ] && ! grep -q "resum" "$work/attempt-$kill.log"; then
    fail "kill $kill: the restart did not resume: $(head -20 "$work/attempt-$kill.log")"
  fi
done
echo "$in_writes of the kills interrupted a checkpoint write (a .partial file was left)"

train "$run" >"$work/final.log" 2>&1 || fail "the last resume: $(tail -5 "$work/final.log")"
logged=$(grep -o '"step": [0-9]*, "epoch' "$run/metrics.jsonl" | grep -o '[0-9]*' | tr '\n' ' ')
expected=$(seq -s ' ' 1 $steps)
[ "$logged" = "$expected " ] || fail "metrics.jsonl steps are [$logged], not each of 1..$steps once"
diff <(losses "$work/reference") <(losses "$run") >"$work/diff.txt" ||
  fail "losses differ from the uninterrupted run: $(head -6 "$work/diff.txt")"
ls "$run/checkpoints" | grep -q '\.partial' && fail "a .partial file survived the final run: $(ls "$run/checkpoints")"
finish kill_during_checkpoints
