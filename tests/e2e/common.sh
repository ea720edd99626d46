# common.sh: sourced by the end-to-end and fault scripts that train on 2 ranks. The sourcing script
# sets `atrous` (the binary), `datasets` (datasets/) and `mpi2` (the 2-rank launcher as an array)
# first; this file gives it:
#   work             a temporary folder, removed on exit (stopped ranks of ours are resumed first)
#   fail MESSAGE     counts a failure and prints it; `finish NAME` ends with the verdict
#   make_packs SEED TRAIN VAL   demo data packed at 65 x 65 into $work/train.h5 and $work/val.h5
#   write_tiny_ini [LINES]      $work/tiny.ini: a small MobileNetV2 on $work/train.h5 (batch 2, crop 65,
#                               one thread, a log line per step), then LINES (standard input), which
#                               may add sections or open a section again with other names
#   ranks_of RUN_DIR            the rank processes training into RUN_DIR (not the launcher)
#   wait_lines RUN_DIR N [LOG]  waits (at most 60 s) until RUN_DIR/metrics.jsonl has N lines
#   losses RUN_DIR              "step loss" per logged step
work=$(mktemp -d)
trap 'pkill -CONT -f "^$atrous .*$work/" 2>/dev/null; pkill -9 -f "^$atrous .*$work/" 2>/dev/null; rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
finish() {
  [ "$failures" -eq 0 ] && echo "$1: all checks passed"
  [ "$failures" -eq 0 ]
}

make_packs() {
  /usr/bin/python3 "$datasets/make_demo_data.py" --out "$work/source" --train "$2" --val "$3" --seed "$1" >/dev/null ||
    fail "demo data"
  for split in train val; do
    "$atrous" pack voc --root "$work/source" --split "$split" --out "$work/$split.h5" --size 65 \
      --descriptor "$datasets/demo.ini" >/dev/null 2>&1 || fail "pack $split"
  done
}

write_tiny_ini() {
  {
    cat <<INI
[data]
train = $work/train.h5
batch_size = 2
crop_size = 65
reader_threads = 1
[model]
backbone = mobilenet_v2
output_stride = 16
atrous_rates = 2,4
[train]
log_every = 1
[dist]
threads = 1
INI
    cat
  } >"$work/tiny.ini"
}

ranks_of() { pgrep -f "^$atrous train --config $work/tiny.ini --train.run_dir $1( |\$)"; }

wait_lines() {
  local deadline=$((SECONDS + 60))
  while [ "$(cat "$1/metrics.jsonl" 2>/dev/null | wc -l)" -lt "$2" ]; do
    [ "$SECONDS" -lt "$deadline" ] || { fail "$1 never logged $2 lines: $(tail -5 "${3:-/dev/null}")"; return 1; }
    sleep 0.2
  done
}

losses() { grep '"loss"' "$1/metrics.jsonl" | sed 's/.*"step": \([0-9]*\),.*"loss": \([^,]*\),.*/\1 \2/'; }
