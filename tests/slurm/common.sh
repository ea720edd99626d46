# shellcheck shell=bash disable=SC2154  # atrous and root come from the sourcing test
# Shared by the slurm tests: sourced after `atrous=$1 root=$2`. Makes a work folder, a cluster state
# folder and port of this test's own (so tests never meet each other's cluster), brings the cluster
# down on every exit (the folder goes too, unless a check failed: then the jobs' output and the
# daemons' logs stay for a look), and provides a small training pack, a tiny config and helpers
# that read job states and metrics.jsonl.
work=$(mktemp -d)
export ATROUS_CLUSTER_DIR=$work/cluster ATROUS_CLUSTER_PORT=$((20000 + ($$ % 4000) * 2))
export SLURM_CONF=$ATROUS_CLUSTER_DIR/slurm.conf ATROUS_HOME=$root ATROUS=$atrous
cleanup() {
  "$root/cluster/local/down" --keep-state >/dev/null 2>&1
  if [ "$failures" -eq 0 ]; then rm -rf "$work"; else echo "the work folder, the jobs' output and the daemons' logs are kept in $work"; fi
}
trap cleanup EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# make_tiny_pack: $work/train.h5 and val.h5 (24 + 8 demo scenes at 65 px) and $work/tiny.ini.
make_tiny_pack() {
  /usr/bin/python3 "$root/datasets/make_demo_data.py" --out "$work/source" --train 24 --val 8 --seed 3 >/dev/null
  for split in train val; do
    "$atrous" pack voc --root "$work/source" --split "$split" --out "$work/$split.h5" --size 65 \
      --descriptor "$root/datasets/demo.ini" >/dev/null 2>&1 || { echo "FAIL: pack $split"; exit 1; }
  done
  cat >"$work/tiny.ini" <<INI
[data]
train = $work/train.h5
batch_size = 2
crop_size = 65
reader_threads = 1
[model]
backbone = mobilenet_v2
output_stride = 16
atrous_rates = 2,4
[optim]
lr = 0.02
[train]
log_every = 1
[ckpt]
every_steps = 4
INI
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
