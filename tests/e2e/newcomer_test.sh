#!/usr/bin/env bash
# newcomer_test.sh ATROUS DATASETS_DIR "LAUNCHER-2-RANKS": docs/your-own-data.md, followed as a new
# user follows it, from the folder holding their files and with relative paths:
#   - their own 3-class dataset in the `list` format packs (and a list given with its folder twice
#     is named as the path it became);
#   - a base config and an experiment's config layer; training on 2 ranks is interrupted (SIGUSR1 to
#     mpirun, as SLURM's warning signal) and resumed with another learning rate and fewer steps:
#     the change is listed, configs/ keeps each segment's options; a run at its end says "nothing to
#     do" and keeps config.ini; a changed model is refused;
#   - eval, infer and describe from the run directory alone (no config: the checkpoint's model options), and a
#     class count that is not the pack's is refused;
#   - training from an OrderedDict state dict (torch.save(model.state_dict()));
#   - a start on a missing pack leaves no run directory behind.
# Submitting through SLURM from another folder is tests/slurm/slurm_test.sh's part.
set -u
atrous=$1
datasets=$2
IFS=';' read -ra mpi2 <<<"$3"
# shellcheck source=tests/e2e/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$work" || exit 1
log() { tail -5 "$1" | sed 's/^/    /'; }

# 1. Their files, listed: images/ and labels/ under mydata/, the label values mapped to 3 classes.
demo_scenes source 16 6 4
mkdir -p mydata/images mydata/labels
for split in train val; do
  while read -r name; do
    cp "source/VOC2012/JPEGImages/$name.jpg" mydata/images/ && cp "source/VOC2012/SegmentationClass/$name.png" mydata/labels/
    echo "images/$name.jpg labels/$name.png"
  done <"source/VOC2012/ImageSets/Segmentation/$split.txt" >"mydata/$split.txt"
done
cat >mydata/classes.ini <<'INI'
[dataset]
name = shapes
num_classes = 3
class_names = background,round,angular
ignore_label = 255
label_map = 0:0,1:1,2:2,3:2,4:1,255:255
INI
for split in train val; do
  "$atrous" pack list --root mydata --split "$split.txt" --descriptor mydata/classes.ini --size 65 \
    --out "$split.h5" >"pack-$split.log" 2>&1 || fail "pack $split: $(log "pack-$split.log")"
done
"$atrous" pack list --root mydata --split mydata/val.txt --descriptor mydata/classes.ini --size 65 \
  --out wrong.h5 >pack-wrong.log 2>&1 && fail "a list path given with its folder twice was packed"
grep -qF "mydata/mydata/val.txt' cannot be read" pack-wrong.log || fail "the list error does not name the path: $(log pack-wrong.log)"
grep -qF "inside pack.root unless absolute" pack-wrong.log || fail "the list error does not say paths are inside pack.root"

# 2. A base config and an experiment's layer; 2 ranks, interrupted like a preempted SLURM job.
cat >base.ini <<'INI'
[data]
train = train.h5
crop_size = 65
batch_size = 2
reader_threads = 1
[model]
backbone = mobilenet_v2
atrous_rates = 2,4
[train]
steps = 60
log_every = 1
[dist]
threads = 1
INI
printf '[optim]\nlr = 0.02\n' >lr-0.02.ini
"${mpi2[@]}" "$atrous" train --config base.ini --config lr-0.02.ini --train.run_dir runs/first >first.log 2>&1 &
launcher=$!
wait_lines runs/first 3 first.log && kill -USR1 $launcher
wait $launcher
status=$?
[ "$status" -eq 75 ] || fail "the interrupted run ended with $status, not 75: $(log first.log)"
grep -qF "lr = 0.02  # config file 'lr-0.02.ini'" runs/first/config.ini || fail "config.ini does not name the layer: $(grep 'lr =' runs/first/config.ini)"
grep -qF "steps = 60  # config file 'base.ini'" runs/first/config.ini || fail "config.ini does not name the base file"
stopped=$(sed -n 's/.*stopped by a preemption signal .* at step \([0-9]*\);.*/\1/p' first.log)
[ -n "$stopped" ] && [ -f "runs/first/checkpoints/step-$stopped.pt" ] || fail "no checkpoint at the interruption: $(log first.log)"

# 3. Resumed with another learning rate and fewer steps: listed, kept per segment.
"${mpi2[@]}" "$atrous" train --config base.ini --config lr-0.02.ini --train.run_dir runs/first \
  --optim.lr 0.01 --train.steps $((stopped + 2)) >resume.log 2>&1 || fail "resume: $(log resume.log)"
grep -qF "resuming with options changed since" resume.log || fail "the changed options were not reported: $(log resume.log)"
grep -qF "optim.lr 0.02 -> 0.01" resume.log && grep -qF "train.steps 60 -> $((stopped + 2))" resume.log ||
  fail "the change list: $(grep -F 'changed since' resume.log)"
grep -qF "lr = 0.02" runs/first/configs/step-0.ini && grep -qF "lr = 0.01" "runs/first/configs/step-$stopped.ini" ||
  fail "configs/ does not keep each segment's options: $(ls runs/first/configs)"
before=$(md5sum runs/first/config.ini)
"${mpi2[@]}" "$atrous" train --config base.ini --config lr-0.02.ini --train.run_dir runs/first \
  --train.steps $((stopped + 1)) >again.log 2>&1 || fail "a rerun past the end: $(log again.log)"
grep -qF "nothing to do: the run is at step $((stopped + 2))" again.log || fail "no 'nothing to do': $(log again.log)"
[ "$(md5sum runs/first/config.ini)" = "$before" ] || fail "a run that trained nothing rewrote config.ini"
"$atrous" train --config base.ini --train.run_dir runs/first --train.steps 99 --model.output_stride 8 \
  >model-change.log 2>&1 && fail "a resume with another output stride was accepted"
grep -qF "holds the weights of another model (model.output_stride 16 -> 8)" model-change.log ||
  fail "the model change refusal: $(log model-change.log)"

# 4. eval and infer from the run directory alone: the model comes from the checkpoint.
"$atrous" eval --eval.checkpoint runs/first --eval.data val.h5 --eval.out eval.json --dist.threads 1 >eval.log 2>&1 ||
  fail "eval from the run directory: $(log eval.log)"
grep -qF "model options from checkpoint 'runs/first/checkpoints/step-$((stopped + 2)).pt'" eval.log ||
  fail "eval did not take the checkpoint's model options: $(log eval.log)"
grep -qF '"angular"' eval.json || fail "eval.json lacks the dataset's classes"
"$atrous" eval --eval.checkpoint runs/first --eval.data val.h5 --eval.out eval4.json --model.num_classes 4 \
  --dist.threads 1 >eval4.log 2>&1
[ $? -eq 2 ] && grep -qF "option --model.num_classes = 4 is not allowed; allowed: 0 or 3" eval4.log ||
  fail "eval with another class count than the pack's: $(log eval4.log)"
"$atrous" eval --eval.checkpoint runs/first --eval.data val.h5 --eval.out eval8.json --model.output_stride 8 \
  --dist.threads 1 >eval8.log 2>&1
grep -qF "model.output_stride = 8 (command line) where checkpoint" eval8.log || fail "an overridden model option was not reported: $(log eval8.log)"
"$atrous" infer --eval.checkpoint runs/first --infer.input mydata/images --infer.out masks --dist.threads 1 >infer.log 2>&1 ||
  fail "infer from the run directory: $(log infer.log)"
[ "$(ls masks | wc -l)" -eq $((2 * $(ls mydata/images | wc -l))) ] || fail "infer wrote $(ls masks | wc -l) files"

"$atrous" describe --eval.checkpoint runs/first --data.crop_size 65 --dist.threads 1 >describe.log 2>&1 ||
  fail "describe from the run directory: $(log describe.log)"
grep -qF "backbone  MobileNetV2" describe.log && grep -qF "3 classes" describe.log ||
  fail "describe did not build the checkpoint's model: $(log describe.log)"

# 5. Weights as PyTorch saves them.
/usr/bin/python3 - <<'PY' >weights.log 2>&1 || fail "torch.save: $(log weights.log)"
import collections, torch
latest = open("runs/first/checkpoints/latest").read().strip()
model = torch.load("runs/first/checkpoints/" + latest)["model"]
torch.save(collections.OrderedDict(model), "weights.pth")
PY
"${mpi2[@]}" "$atrous" train --config base.ini --train.run_dir runs/finetune --train.steps 2 \
  --model.init_weights weights.pth >finetune.log 2>&1 || fail "training from an OrderedDict: $(log finetune.log)"
grep -qF "initial weights from weights.pth" finetune.log || fail "the initial weights were not reported: $(log finetune.log)"

# 6. A mistyped pack: an error, and no run directory left behind.
"$atrous" train --config base.ini --data.train trian.h5 --train.run_dir runs/typo >typo.log 2>&1 &&
  fail "a missing pack trained"
grep -qF "trian.h5" typo.log || fail "the missing pack is not named: $(log typo.log)"
[ ! -e runs/typo ] || fail "a failed start left runs/typo behind: $(ls -A runs/typo)"

finish newcomer
