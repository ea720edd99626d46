#!/usr/bin/env bash
# cli_test.sh ATROUS "LAUNCHER-2-RANKS" "LAUNCHER-4-RANKS" DATASETS_DIR
# The `atrous` command end to end: help, exit statuses, option errors printed once per job, config
# file precedence, `atrous info` on 2 and 4 ranks (and its warning when threads outnumber cpus),
# describe, the options and early errors of eval and infer (inputs that would write one file, an
# empty folder, an empty pack), and JSON outputs that stay valid whatever the class names hold;
# outputs that would replace an input are refused; config.ini resumes its run whatever run_dir holds.
# Launchers are CMake lists (';'-separated).
set -u
atrous=$1
IFS=';' read -ra mpi2 <<<"$2"
IFS=';' read -ra mpi4 <<<"$3"
datasets=$4
# shellcheck source=tests/e2e/common.sh
source "$(dirname "$0")/common.sh"
passes=0

# run NAME EXPECTED_STATUS COMMAND...: runs, keeps output in $out, checks the status.
run() {
  local name=$1 expected=$2; shift 2
  out=$("$@" 2>&1); status=$?
  if [ "$status" -ne "$expected" ]; then
    fail "$name: status $status, expected $expected"; echo "$out" | sed 's/^/    /'
    return 1
  fi
}
# expect NAME PATTERN [COUNT]: $out matches the fixed string PATTERN (exactly COUNT times if given).
expect() {
  local name=$1 pattern=$2 count=${3:-}
  local found; found=$(grep -cF -- "$pattern" <<<"$out")
  if { [ -z "$count" ] && [ "$found" -lt 1 ]; } || { [ -n "$count" ] && [ "$found" -ne "$count" ]; }; then
    fail "$name: '$pattern' found $found times${count:+, expected $count}"; echo "$out" | sed 's/^/    /'
    return 1
  fi
  passes=$((passes + 1))
}

run help 0 "$atrous" --help && expect help "  info "
run no-command 2 "$atrous" && expect no-command "usage: atrous <command>"
run unknown-command 2 "$atrous" inof && expect unknown-command "unknown command 'inof'; did you mean 'info'?"
run help-topic 2 "$atrous" help option && expect help-topic "\`atrous help option\` is not a help topic; \`atrous help options\` lists"
run version 0 "$atrous" --version && expect version "atrous "
run command-help 0 "$atrous" info --help && expect command-help "--dist.threads INT" &&
  expect command-help "default: 0; allowed: an integer from 0 to 1024"

run info-2 0 "${mpi2[@]}" "$atrous" info && expect info-2 "  rank " 2 &&
  expect info-2 "effective configuration" 1 && expect info-2 "world: 2 rank(s) on 1 node(s)" 2
run info-4 0 "${mpi4[@]}" "$atrous" info --log.level warn && expect info-4 "  rank " 4 &&
  expect info-4 "effective configuration" 0 && expect info-4 "local 3/4"
# More threads than cpus: one warning (rank 0's) that names the budget and what to use instead.
run oversubscribed 0 "${mpi2[@]}" "$atrous" info --dist.threads 1000 --log.level warn &&
  expect oversubscribed " x 1000 thread(s) (dist.threads) exceed the " 1 &&
  expect oversubscribed "every step runs many times slower; use dist.threads" 1
run not-oversubscribed 0 "$atrous" info --dist.threads 1 && expect not-oversubscribed "exceed the" 0

run bad-option-2 2 "${mpi2[@]}" "$atrous" info --dist.thread 2 &&
  expect bad-option-2 "atrous: error: unknown option 'dist.thread' on the command line (did you mean --dist.threads?)" 1 &&
  expect bad-option-2 "(on all 2 ranks" 1
run malformed 2 "$atrous" info --dist.threads abc &&
  expect malformed "the argument ('abc') for option '--dist.threads' is invalid" 1 &&
  expect malformed "allowed: an integer from 0 to 1024" 1
run out-of-range 2 "$atrous" info --dist.threads -1 &&
  expect out-of-range "option --dist.threads = -1 is not allowed; allowed: an integer from 0 to 1024" 1

printf '[dist]\nthreads = 1\ndevice = cpu\n[train]\nbatch_size = 4\n' >"$work/shared.ini"
printf '[dist]\nthreads = 1\n[dist]\nthread = 2\n' >"$work/typo.ini"
run config-unknown 2 "$atrous" info --config "$work/shared.ini" &&
  expect config-unknown "unknown option 'train.batch_size' in config file"
printf '[dist]\nthreads = 1\ndevice = cpu\n[log]\n' >"$work/good.ini"
run config-precedence 0 "$atrous" info --config "$work/good.ini" --dist.threads 2 &&
  expect config-precedence "threads = 2  # command line" 1 &&
  expect config-precedence "device = cpu  # config file" 1 &&
  expect config-precedence "level = info  # default" 0 &&
  expect config-precedence "threads 2 (dist.threads)" 1
# Every option, defaults included, at log.level debug; the options given at info.
run config-every 0 "$atrous" info --config "$work/good.ini" --log.level debug &&
  expect config-every "level = debug  # command line" 1 && expect config-every "timeout_s = 600  # default" 1
run config-typo 2 "$atrous" info --config "$work/typo.ini" &&
  expect config-typo "unknown option 'dist.thread' in config file '$work/typo.ini' (did you mean --dist.threads?)"
run config-folder 2 "$atrous" info --config "$work" &&
  expect config-folder "config file '$work' (from --config) is not a file" 1
run config-missing 2 "$atrous" info --config "$work/missing.ini" &&
  expect config-missing "config file '$work/missing.ini' (from --config) cannot be read: No such file or directory"

# The reference BLAS put first on the library path must draw rank 0's warning; OpenBLAS must not.
reference_blas=/usr/lib/x86_64-linux-gnu/blas
run blas-optimised 0 "$atrous" info && expect blas-optimised "reference BLAS" 0
run blas-reference 0 env LD_LIBRARY_PATH="$reference_blas" "$atrous" info &&
  expect blas-reference "WARN  LibTorch runs on the reference BLAS ($reference_blas/libblas.so.3" 1

# glibc malloc: tuned by re-executing once, unless the user opted out or chose settings.
run malloc-tuned 0 "$atrous" info && expect malloc-tuned "malloc    tuned (GLIBC_TUNABLES=glibc.malloc.mmap_threshold=" 1
run malloc-tuned-2 0 "${mpi2[@]}" "$atrous" info && expect malloc-tuned-2 "malloc    tuned (GLIBC_TUNABLES=" 1
run malloc-kept 0 env ATROUS_KEEP_MALLOC=1 "$atrous" info && expect malloc-kept "malloc    glibc defaults" 1
run malloc-user 0 env GLIBC_TUNABLES=glibc.malloc.arena_max=2 "$atrous" info &&
  expect malloc-user "malloc    the user's malloc settings" 1

# describe: the model a configuration builds, its shapes at the crop, and its option errors.
cat >"$work/model.ini" <<'INI'
[model]
backbone = mobilenet_v2
image_pyramid = 0.5,1
num_classes = 21
[data]
crop_size = 513
INI
run describe 0 "$atrous" describe --config "$work/model.ini" &&
  expect describe "backbone  MobileNetV2" 1 && expect describe "scale_0.5: input 257 x 257 -> logits [1, 21, 65, 65]" 1 &&
  expect describe "output scale_1: [1, 21, 129, 129]" 1 && expect describe "output merged: [1, 21, 129, 129]" 1
run describe-no-classes 2 "$atrous" describe && expect describe-no-classes "set --model.num_classes" 1
run describe-bad-backbone 2 "${mpi2[@]}" "$atrous" describe --model.num_classes 3 --model.backbone resnet18 &&
  expect describe-bad-backbone "option --model.backbone = resnet18 is not allowed" 1

# eval and infer: the options they share (declared once) and the mistakes found before a model is built.
run eval-help 0 "$atrous" eval --help && expect eval-help "  --eval.checkpoint TEXT" 1 &&
  expect eval-help "  --eval.output_stride CHOICE" 1 && expect eval-help "default: 0; allowed: 0, 8, 16 or 32" 1
run infer-help 0 "$atrous" infer --help &&
  expect infer-help "the checkpoint (or state dict) to evaluate or predict with" 1 &&
  expect infer-help "default: 0; allowed: 0, 8, 16 or 32" 1
run eval-bad-stride 2 "${mpi2[@]}" "$atrous" eval --eval.output_stride 12 &&
  expect eval-bad-stride "option --eval.output_stride = 12 is not allowed; allowed: 0, 8, 16 or 32" 1
run infer-no-checkpoint 2 "${mpi2[@]}" "$atrous" infer --infer.input "$work/a.png" --infer.out "$work/masks" &&
  expect infer-no-checkpoint "option --eval.checkpoint" 1
run infer-missing-input 1 "$atrous" infer --eval.checkpoint "$work/none.pt" --infer.input "$work/nowhere.png" \
  --infer.out "$work/masks" && expect infer-missing-input "infer input '$work/nowhere.png' is not an image, a folder or a pack" 1

# Two inputs that would write one file are refused before any work, naming both; so are outputs that
# would replace an input, and a folder without images. No file is read (nor the checkpoint loaded)
# before the refusal.
mkdir -p "$work/photos" "$work/nothing"
touch "$work/photos/x.jpg" "$work/photos/x.png"
run infer-same-output 1 "$atrous" infer --eval.checkpoint "$work/none.pt" --infer.input "$work/photos" \
  --infer.out "$work/masks" &&
  expect infer-same-output "infer inputs '$work/photos/x.jpg' and '$work/photos/x.png' would both write 'x.png' in infer.out" 1
[ ! -e "$work/masks" ] || fail "infer-same-output: infer.out was made"
rm "$work/photos/x.jpg"
run infer-over-input 1 "$atrous" infer --eval.checkpoint "$work/none.pt" --infer.input "$work/photos" \
  --infer.out "$work/photos" &&
  expect infer-over-input "infer input '$work/photos/x.png' would be replaced by 'x.png'" 1
run infer-empty-folder 1 "$atrous" infer --eval.checkpoint "$work/none.pt" --infer.input "$work/nothing" \
  --infer.out "$work/masks" && expect infer-empty-folder "infer input folder '$work/nothing' holds no image" 1
run infer-logits-inside 1 "$atrous" infer --eval.checkpoint "$work/none.pt" --infer.input "$work/photos" \
  --infer.out "$work/masks" --infer.logits_out "$work/masks/x.png" &&
  expect infer-logits-inside "infer.logits_out '$work/masks/x.png' lies inside infer.out '$work/masks'" 1

# A tiny pack whose class names hold a quote, a backslash, a newline, a tab and non-ASCII text; a copy
# emptied of samples; one training step on it.
make_demo_packs "$atrous" "$work" 2 2 33 1 || fail "pack"
cp "$work/val.h5" "$work/empty.h5"
cp "$work/val.h5" "$work/external.h5"
/usr/bin/python3 - "$work" <<'PY'
import sys, h5py
work = sys.argv[1]
with h5py.File(f"{work}/val.h5", "r+") as f:
    f.attrs.modify("class_names", ['back"ground', "C:\\disc", "new\nline", "tab\tend", "caf\u00e9 \u8eca"])
with h5py.File(f"{work}/empty.h5", "r+") as f:
    for name in f:
        f[name].resize(0, axis=0)
with h5py.File(f"{work}/external.h5", "r+") as f:  # /images's bytes read from another file
    shape, dtype = f["images"].shape, f["images"].dtype
    del f["images"]
    f.create_dataset("images", shape=shape, dtype=dtype, external=[("/etc/passwd", 0, h5py.h5f.UNLIMITED)])
PY
[ $? -eq 0 ] || fail "h5py could not rename the classes or empty the copy"
cat >"$work/tiny.ini" <<INI
[data]
train = $work/val.h5
val = $work/val.h5
batch_size = 2
crop_size = 33
reader_threads = 1
[model]
backbone = mobilenet_v2
atrous_rates = 2,4
[dist]
threads = 1
INI
run eval-empty-pack 1 "$atrous" eval --eval.checkpoint "$work/none.pt" --eval.data "$work/empty.h5" \
  --eval.out "$work/empty.json" &&
  expect eval-empty-pack "pack '$work/empty.h5' holds no samples, so there is nothing to evaluate" 1 &&
  expect eval-empty-pack "mIoU" 0
[ ! -e "$work/empty.json" ] || fail "eval-empty-pack: eval.out was written"
run eval-external-pack 1 "$atrous" eval --eval.checkpoint "$work/none.pt" --eval.data "$work/external.h5" &&
  expect eval-external-pack "/images is stored in the external file '/etc/passwd'; a pack must hold its data itself" 1
run pack-out-folder 1 "$atrous" pack voc --root "$work/source" --split val --out "$work" \
  --descriptor "$datasets/demo.ini" && expect pack-out-folder "pack.out '$work' is a folder; give a file path" 1 &&
  expect pack-out-folder "packing" 0
run train-named 0 "$atrous" train --config "$work/tiny.ini" --train.run_dir "$work/run" --train.steps 1 \
  --train.eval_every 1 --train.timeline "$work/run/trace.json"
run eval-named 0 "$atrous" eval --config "$work/tiny.ini" --eval.checkpoint "$work/run/checkpoints/step-1.pt" \
  --eval.data "$work/val.h5" --eval.out "$work/eval.json"
# Weights as PyTorch users save them: an OrderedDict (as torchvision's weight files are; LibTorch's own
# reader failed on it) evaluates exactly as the checkpoint it was taken from. A whole pickled module
# is refused, saying what to save instead.
run python-saved 0 /usr/bin/python3 - "$work" <<'PY' && expect python-saved "saved" 1
import collections, sys, torch
work = sys.argv[1]
model = torch.load(f"{work}/run/checkpoints/step-1.pt")["model"]
torch.save(collections.OrderedDict(model), f"{work}/state_dict.pth")
torch.save(torch.nn.Conv2d(1, 1, 1), f"{work}/module.pth")
print("saved")
PY
run eval-ordered-dict 0 "$atrous" eval --config "$work/tiny.ini" --eval.checkpoint "$work/state_dict.pth" \
  --eval.data "$work/val.h5" --eval.out "$work/eval-ordered.json" &&
  cmp -s "$work/eval.json" "$work/eval-ordered.json" ||
  fail "eval-ordered-dict: $(diff "$work/eval.json" "$work/eval-ordered.json")"
run eval-module 1 "$atrous" eval --config "$work/tiny.ini" --eval.checkpoint "$work/module.pth" \
  --eval.data "$work/val.h5" &&
  expect eval-module "an object of torch.nn.modules.conv.Conv2d, not tensors in dicts" 1
# The run directory stands for its latest checkpoint, and the log says which file that is.
run eval-run-dir 0 "$atrous" eval --config "$work/tiny.ini" --eval.checkpoint "$work/run" \
  --eval.data "$work/val.h5" --eval.out "$work/eval-run.json" &&
  expect eval-run-dir "eval.checkpoint: $work/run/checkpoints/step-1.pt (the latest checkpoint of run directory '$work/run')" 1
# Every JSON output parses, and names come back as they were.
run json-valid 0 /usr/bin/python3 - "$work" <<'PY' && expect json-valid "json ok" 1
import json, sys
work = sys.argv[1]
names = ['back"ground', "C:\\disc", "new\nline", "tab\tend", "caf\u00e9 \u8eca"]
lines = [json.loads(line) for line in open(f"{work}/run/metrics.jsonl", encoding="utf-8")]
evaluations = [line["eval"] for line in lines if "eval" in line]
assert len(evaluations) == 1 and list(evaluations[0]["iou"]) == names, evaluations
with open(f"{work}/eval.json", encoding="utf-8") as file:
    result = json.load(file)
assert list(result["iou"]) == names and result["samples"] == 2, result
with open(f"{work}/run/trace.json", encoding="utf-8") as file:
    assert json.load(file)["traceEvents"], "an empty trace"
print("json ok")
PY
# Inference names outputs after the samples; a pack listed twice is predicted once.
run infer-pack 0 "$atrous" infer --config "$work/tiny.ini" --eval.checkpoint "$work/run/checkpoints/step-1.pt" \
  --infer.input "$work/val.h5,$work/val.h5" --infer.out "$work/masks" &&
  expect infer-pack "predicted 2 image(s) into $work/masks" 1
masks=$(ls "$work/masks" 2>&1 | tr '\n' ' ')
[ "$masks" = "demo_00002.png demo_00002_overlay.png demo_00003.png demo_00003_overlay.png " ] ||
  fail "infer-pack: infer.out holds $masks"

# An output that is one of the command's inputs is refused before anything is written.
checkpoint="$work/run/checkpoints/step-1.pt"
sums=$(md5sum "$checkpoint" "$work/val.h5")
run eval-over-checkpoint 1 "$atrous" eval --config "$work/tiny.ini" --eval.checkpoint "$checkpoint" \
  --eval.data "$work/val.h5" --eval.out "$work/run/checkpoints/../checkpoints/step-1.pt" &&
  expect eval-over-checkpoint "is the file that eval.checkpoint '$checkpoint' reads; writing it would replace" 1
run infer-over-pack 1 "$atrous" infer --config "$work/tiny.ini" --eval.checkpoint "$checkpoint" \
  --infer.input "$work/val.h5" --infer.out "$work/masks2" --infer.logits_out "$work/val.h5" &&
  expect infer-over-pack "infer.logits_out '$work/val.h5' is the file that infer.input '$work/val.h5' reads" 1
run train-over-pack 1 "$atrous" train --config "$work/tiny.ini" --train.run_dir "$work/run3" --train.steps 1 \
  --train.timeline "$work/val.h5" && expect train-over-pack "train.timeline '$work/val.h5' is the file that data.train" 1
run eval-over-config 1 "$atrous" eval --config "$work/tiny.ini" --eval.checkpoint "$checkpoint" \
  --eval.data "$work/val.h5" --eval.out "$work/tiny.ini" &&
  expect eval-over-config "eval.out '$work/tiny.ini' is the file that --config '$work/tiny.ini' reads" 1
# Two outputs of one command that are one file: refused before either is written.
run eval-outputs-shared 1 "$atrous" eval --config "$work/tiny.ini" --eval.checkpoint "$checkpoint" \
  --eval.data "$work/val.h5" --eval.out "$work/same-out" --eval.visualize 1 --eval.visualize_out "$work/./same-out" &&
  expect eval-outputs-shared "eval.out '$work/same-out' and eval.visualize_out '$work/./same-out' are the same file" 1
[ ! -e "$work/same-out" ] || fail "eval-outputs-shared wrote $work/same-out"
run train-timeline-over-metrics 1 "$atrous" train --config "$work/tiny.ini" --train.run_dir "$work/run4" --train.steps 1 \
  --train.timeline "$work/run4/metrics.jsonl" &&
  expect train-timeline-over-metrics "train.timeline '$work/run4/metrics.jsonl' and the run's metrics" 1
[ ! -e "$work/run4" ] || fail "train-timeline-over-metrics left $work/run4"
run train-over-resumed 1 "$atrous" train --config "$work/tiny.ini" --train.run_dir "$work/run" --train.steps 2 \
  --train.timeline "$checkpoint" &&
  expect train-over-resumed "train.timeline '$checkpoint' is the file that train.resume '$checkpoint' reads" 1
[ "$(md5sum "$checkpoint" "$work/val.h5")" = "$sums" ] || fail "an input was changed"
run infer-out-file 1 "$atrous" infer --config "$work/tiny.ini" --eval.checkpoint "$checkpoint" \
  --infer.input "$work/val.h5" --infer.out "$work/eval.json" &&
  expect infer-out-file "infer.out '$work/eval.json' is a file; give a folder for the masks" 1
# An image named "..jpg" (stem ".", which HDF5 takes for the group itself) gets its logits as "_.".
mkdir -p "$work/dots" && cp "$(ls "$work/source/VOC2012/JPEGImages/"*.jpg | head -1)" "$work/dots/..jpg"
run infer-dots 0 "$atrous" infer --config "$work/tiny.ini" --eval.checkpoint "$checkpoint" \
  --infer.input "$work/dots" --infer.out "$work/dots-out" --infer.logits_out "$work/dots.h5" &&
  run infer-dots-logits 0 /usr/bin/python3 -c "import h5py, sys; print(list(h5py.File(sys.argv[1])['logits']))" \
    "$work/dots.h5" && expect infer-dots-logits "['_.']" 1
cp "$work/dots/..jpg" "$work/dots/_..jpg"  # its key is "_." too: refused before any prediction
run infer-dots-twice 1 "$atrous" infer --config "$work/tiny.ini" --eval.checkpoint "$checkpoint" \
  --infer.input "$work/dots" --infer.out "$work/dots-out2" --infer.logits_out "$work/dots2.h5" &&
  expect infer-dots-twice "would both write /logits/_. in infer.logits_out; rename one" 1
# A CMYK JPEG is intact but not RGB: the message says so and how to convert it, not "damaged".
/usr/bin/python3 -c "import sys; from PIL import Image; Image.new('CMYK', (16, 12), (0, 90, 200, 10)).save(sys.argv[1])" \
  "$work/cmyk.jpg"
run infer-cmyk 1 "$atrous" infer --config "$work/tiny.ini" --eval.checkpoint "$checkpoint" \
  --infer.input "$work/cmyk.jpg" --infer.out "$work/cmyk-out" &&
  expect infer-cmyk "image file '$work/cmyk.jpg' is a CMYK JPEG (a print colour space); convert it to RGB" 1
# A mistyped train option is refused before the run directory is made.
run steps-zero 2 "$atrous" train --config "$work/tiny.ini" --train.run_dir "$work/zero" --train.steps 0 &&
  expect steps-zero "option --train.steps = 0 is not allowed" 1
[ ! -e "$work/zero" ] || fail "steps-zero: $work/zero was made"
# RUN_DIR/config.ini reads back as the run's options, a run_dir holding '#' and a trailing blank included:
# --config with it resumes that run.
run hash-run 0 "$atrous" train --config "$work/tiny.ini" --train.run_dir "$work/r#1 " --train.steps 1
run hash-resume 0 "$atrous" train --config "$work/r#1 /config.ini" --train.steps 2 &&
  expect hash-resume "resuming from $work/r#1 /checkpoints/step-1.pt" 1
[ -e "$work/r#1 /checkpoints/step-2.pt" ] || fail "hash-resume: no step 2 in the run"

echo "$passes passed, $failures failed"
[ "$failures" -eq 0 ]
