# shellcheck shell=bash disable=SC2154  # atrous and datasets come from the sourcing script
# common.sh: sourced by the end-to-end and fault scripts, on top of launch/lib/common.sh. The
# sourcing script sets `atrous` (the binary), `datasets` (datasets/) and, to train on 2 ranks,
# `mpi2` (the 2-rank launcher as an array) first; this file gives it:
#   work             a temporary folder, removed on exit (stopped ranks of ours are resumed first)
#   fail MESSAGE     counts a failure and prints it; `finish NAME` ends with the verdict
#   demo_scenes DIR TRAIN VAL SEED   make_demo_data.py's scenes (VOC layout) in DIR, unpacked
#   make_packs SEED TRAIN VAL   demo data packed at 65 x 65 into $work/train.h5 and $work/val.h5 (the
#                               scenes in $work/source; datasets/make-demo-packs)
#   write_tiny_ini [LINES]      $work/tiny.ini: a small MobileNetV2 on $work/train.h5 (batch 2, crop 65,
#                               one thread, a log line per step), then LINES (standard input), which
#                               may add sections or open a section again with other names
#   write_tiny_ini_every N [LINES]   the same with a log line every N steps
#   corrupt_sample PACK COPY INDEX   COPY is PACK with 64 bytes of sample INDEX's image chunk changed
#   ranks_of RUN_DIR            the rank processes training into RUN_DIR (not the launcher)
#   wait_lines RUN_DIR N [LOG]  waits (at most 60 s) until RUN_DIR/metrics.jsonl has N lines
#   losses RUN_DIR              "step loss" per logged step
# shellcheck source=launch/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../launch/lib/common.sh"
make_work_folder
# shellcheck disable=SC2016  # expanded on exit
on_exit 'pkill -CONT -f "^$atrous .*$work/" 2>/dev/null; pkill -9 -f "^$atrous .*$work/" 2>/dev/null'
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
finish() {
  [ "$failures" -eq 0 ] && echo "$1: all checks passed"
  [ "$failures" -eq 0 ]
}

demo_scenes() {
  /usr/bin/python3 "$datasets/make_demo_data.py" --out "$1" --train "$2" --val "$3" --seed "$4" >/dev/null ||
    fail "demo data"
}

make_packs() { make_demo_packs "$atrous" "$work" "$2" "$3" 65 "$1" || fail "demo packs (seed $1, $2 + $3 scenes)"; }

write_tiny_ini() { write_tiny_ini_every 1; }
write_tiny_ini_every() {
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
log_every = $1
[dist]
threads = 1
INI
    cat
  } >"$work/tiny.ini"
}

corrupt_sample() {
  /usr/bin/python3 - "$@" <<'PY' || fail "corrupting a copy of $1"
import shutil, sys, h5py
shutil.copy(sys.argv[1], sys.argv[2])
with h5py.File(sys.argv[2], "r") as f:
    assert f["images"].fletcher32 and f["labels"].fletcher32, "pack.checksums is on by default"
    chunk = f["images"].id.get_chunk_info_by_coord((int(sys.argv[3]), 0, 0, 0))
with open(sys.argv[2], "r+b") as f:
    f.seek(chunk.byte_offset + chunk.size // 2)
    data = bytearray(f.read(64))
    f.seek(chunk.byte_offset + chunk.size // 2)
    f.write(bytes(b ^ 0x33 for b in data))
PY
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
