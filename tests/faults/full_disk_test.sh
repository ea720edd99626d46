#!/usr/bin/env bash
# full_disk_test.sh ATROUS DATASETS_DIR "LAUNCHER-2-RANKS": outputs written onto a full filesystem (a
# small tmpfs mounted for the test) end in a clear error naming the file, a non-zero exit, and
# nothing written before is lost:
#   - a checkpoint that does not fit: the earlier checkpoint, `latest` and every metrics line stay;
#     the run resumes from them elsewhere;
#   - metrics.jsonl when the disk fills mid-run: the lines before stay whole (TensorBoard off: its
#     event file, written at the same moments, would fail first, also with an error naming it);
#   - eval.out: no empty or partial eval.json;
#   - `atrous pack`: no pack and no partial file.
# Mounting needs root with CAP_SYS_ADMIN: without it the test says so and exits 77 (ctest: skipped).
set -u
atrous=$1
datasets=$2
IFS=';' read -ra mpi2 <<<"$3"
# shellcheck source=tests/e2e/common.sh
source "$(dirname "$0")/../e2e/common.sh"
disk=$work/disk
mkdir -p "$disk"
mount -t tmpfs -o size=64m tmpfs "$disk" 2>"$work/mount.err" || {
  echo "SKIPPED: cannot mount a tmpfs here ($(cat "$work/mount.err")); run as root with CAP_SYS_ADMIN"
  exit 77
}
# shellcheck disable=SC2016  # expanded on exit
on_exit 'umount -l "$disk" 2>/dev/null'  # before common.sh's: stopping the ranks, removing the folder
# remount SIZE: an empty tmpfs of SIZE bytes at $disk.
remount() { umount -l "$disk" && mount -t tmpfs -o size="$1" tmpfs "$disk" || fail "remount $1"; }
# fill: leaves about N KiB free on $disk.
fill() {
  local free_kb=$(($(stat -f -c '%a * %S / 1024' "$disk")))
  dd if=/dev/zero of="$disk/filler" bs=1K count=$((free_kb > $1 ? free_kb - $1 : 0)) status=none 2>/dev/null
  true
}

make_packs 6 8 4
write_tiny_ini <<INI
[data]
val = $work/val.h5
INI
train() { "${mpi2[@]}" "$atrous" train --config "$work/tiny.ini" "$@"; }

# 1. A checkpoint that does not fit: room for one checkpoint and a half.
train --train.run_dir "$work/probe" --train.steps 1 >/dev/null 2>&1 || fail "probe run"
size=$(stat -c %s "$work/probe/checkpoints/step-1.pt")
remount $((size * 3 / 2 + 1024 * 1024))
out=$(train --train.run_dir "$disk/run" --train.steps 4 --ckpt.every_steps 2 2>&1) && fail "checkpoint on a full disk: exit 0"
grep -q "step-4.pt" <<<"$out" && grep -qi "space\|full" <<<"$out" ||
  fail "the checkpoint error does not name the file and the full disk: $(grep error: <<<"$out")"
[ "$(cat "$disk/run/checkpoints/latest" 2>/dev/null)" = "step-2.pt" ] || fail "latest lost: $(ls "$disk/run/checkpoints")"
[ "$(wc -l <"$disk/run/metrics.jsonl")" -ge 2 ] || fail "metrics lost: $(cat "$disk/run/metrics.jsonl")"
/usr/bin/python3 -c "import json,sys; [json.loads(l) for l in open(sys.argv[1])]" "$disk/run/metrics.jsonl" ||
  fail "metrics.jsonl is not whole lines of JSON"
cp -r "$disk/run" "$work/moved"
rm -f "$work/moved/checkpoints/"*.partial
out=$(train --train.run_dir "$work/moved" --train.steps 4 2>&1) || fail "resume after the full disk: $out"
grep -q "resuming from .*step-2.pt" <<<"$out" || fail "did not resume from step 2: $(head -20 <<<"$out")"

# 2. metrics.jsonl on a disk that fills during the run.
remount 64m
train --train.run_dir "$disk/m" --train.steps 400 --train.tensorboard false >"$work/m.log" 2>&1 &
launcher=$!
wait_lines "$disk/m" 2 "$work/m.log" && fill 0
timeout 120 tail --pid=$launcher -f /dev/null || fail "the run on a full disk did not end"
wait $launcher && fail "metrics on a full disk: exit 0"
grep -q "metrics.jsonl" "$work/m.log" || fail "the error does not name metrics.jsonl: $(grep error: "$work/m.log")"
head -n 2 "$disk/m/metrics.jsonl" | /usr/bin/python3 -c "import json,sys; [json.loads(l) for l in sys.stdin]" ||
  fail "the lines written before the disk filled are damaged"

# 3. eval.out on a full disk.
remount 64m
fill 0
out=$("${mpi2[@]}" "$atrous" eval --config "$work/tiny.ini" --eval.checkpoint "$work/probe/checkpoints/step-1.pt" \
  --eval.data "$work/val.h5" --eval.out "$disk/eval.json" 2>&1) && fail "eval.out on a full disk: exit 0"
grep -q "eval.json" <<<"$out" || fail "the eval error does not name eval.json: $(grep error: <<<"$out")"
ls "$disk" | grep -q "eval" && fail "eval left a file on the full disk: $(ls -la "$disk")"

# 4. A pack on a full disk.
remount 100k
out=$("$atrous" pack voc --root "$work/source" --split train --out "$disk/train.h5" --size 65 \
  --descriptor "$datasets/demo.ini" 2>&1); status=$?
[ "$status" -eq 1 ] || fail "pack on a full disk: exit $status, expected 1 (139: HDF5 crashed at exit)"
grep -q "No space left on device" <<<"$out" || fail "the pack error does not give the reason: $out"
grep -q "train.h5" <<<"$out" || fail "the pack error does not name the pack: $out"
[ -z "$(ls "$disk")" ] || fail "pack left files on the full disk: $(ls -la "$disk")"
finish full_disk
