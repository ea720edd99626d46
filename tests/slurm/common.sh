# shellcheck shell=bash disable=SC2154  # atrous and root come from the sourcing test
# Shared by the slurm tests: sourced after `atrous=$1 root=$2`. On top of tests/e2e/common.sh (the
# work folder, fail, the demo packs and the tiny config): a cluster state folder and port of this
# test's own (so tests never meet each other's cluster); the cluster brought down on every exit
# (the folder goes too, unless a check failed: then the jobs' output and the daemons' logs stay
# for a look); make_tiny_pack; helpers that read job states and metrics.jsonl.
datasets=$root/datasets
# shellcheck source=tests/e2e/common.sh
source "$root/tests/e2e/common.sh"  # work, fail, make_packs, write_tiny_ini
export ATROUS_CLUSTER_DIR=$work/cluster ATROUS_CLUSTER_PORT=$((20000 + ($$ % 4000) * 2))
# No ATROUS_HOME: the jobs are submitted from the work folder, and the batch scripts find their
# checkout themselves, as a user's submitted from any folder do.
unset ATROUS_HOME
export SLURM_CONF=$ATROUS_CLUSTER_DIR/slurm.conf ATROUS=$atrous
cleanup() {
  "$root/cluster/local/down" --keep-state >/dev/null 2>&1
  if [ "$failures" -eq 0 ]; then rm -rf "$work"; else echo "the work folder, the jobs' output and the daemons' logs are kept in $work"; fi
}
trap cleanup EXIT  # replaces e2e/common.sh's exit commands: the cluster goes first, a failure keeps the folder

# make_tiny_pack: $work/train.h5 and val.h5 (24 + 8 demo scenes at 65 px) and $work/tiny.ini with
# a checkpoint every 4 steps.
make_tiny_pack() {
  make_packs 3 24 8
  [ "$failures" -eq 0 ] || exit 1
  printf '[optim]\nlr = 0.02\n[ckpt]\nevery_steps = 4\n' | write_tiny_ini
}

state_of() { scontrol show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2; }
field_of() { scontrol show job "$1" 2>/dev/null | grep -o " $2=[^ ]*" | cut -d= -f2; }
# wait_done JOB SECONDS: until the job has ended (any final state); 1 on timeout.
wait_done() {
  local deadline=$((SECONDS + $2))
  while [ $SECONDS -lt $deadline ]; do
    case "$(state_of "$1")" in
      COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL | DEADLINE) return 0 ;;
    esac
    sleep 1
  done
  return 1
}
# wait_steps RUN_DIR N SECONDS: until metrics.jsonl holds N steps; 1 on timeout.
wait_steps() {
  local deadline=$((SECONDS + $3))
  until [ "$(logged_steps "$1")" -ge "$2" ]; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.5
  done
}
# logged_steps RUN_DIR: how many steps metrics.jsonl holds so far (0 before it exists).
logged_steps() {
  local count
  count=$(grep -c '"step"' "$1/metrics.jsonl" 2>/dev/null)
  echo "${count:-0}"
}
# check_steps RUN_DIR N: metrics.jsonl holds steps 1..N, each exactly once (rank 0 alone writes).
check_steps() {
  local logged
  logged=$(grep -o '"step": [0-9]*' "$1/metrics.jsonl" 2>/dev/null | awk '{print $2}' | tr '\n' ' ')
  [ "$logged" = "$(seq -s ' ' 1 "$2") " ] || fail "$1: steps logged '$logged', not 1..$2 once each"
}
# check_completed JOB WHAT: the job ended COMPLETED with exit code 0.
check_completed() {
  [ "$(state_of "$1")" = COMPLETED ] && [ "$(field_of "$1" ExitCode)" = 0:0 ] ||
    fail "$2 (job $1) ended $(state_of "$1") exit $(field_of "$1" ExitCode)"
}
