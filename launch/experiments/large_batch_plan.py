#!/usr/bin/python3
"""The runs of a large-batch sweep (launch/experiments/large-batch): which recipe, batch, seed and
learning rate each run trains with, and the `atrous train` options that say so.

    large_batch_plan.py OUT PHASE SETTINGS_JSON

PHASE is `search` (the learning-rate search: every candidate rate of every recipe at the base batch)
or `sweep` (every recipe at every batch with its chosen base rate, OUT/rates.json; a point the search
already trained with that rate and seed is not trained again). Appends a line per new run to
OUT/runs.csv and its options to OUT/sweep.txt (line i of sweep.txt is run i), and prints the number
of the first new run and the count.

A recipe is an optimizer, a scaling rule for its learning rate and a batch-norm scope:
  sgd-linear  momentum SGD, lr x B / B0 (Goyal et al.), SyncBatchNorm across the ranks
  lars        LARS, lr x sqrt(B / B0), SyncBatchNorm
  lamb        LAMB, lr x sqrt(B / B0) (You et al. 2019), weight decay 0.01 (decoupled) and the
              gradient norm clipped at 1.0, as MLPerf HPC's DeepCAM, SyncBatchNorm
  local-bn    as sgd-linear, with per-rank batch norm over --local-bn-per-rank images (TF DeepLab's
              clones) and sgd-linear's base rate
Every run warms up over the same epochs, evaluates every --eval-every-epochs and stops at the target
mIoU or at the cap (--max-epochs, the schedule's length: the poly decay spans the cap).
"""
import csv
import json
import math
import os
import sys

RECIPES = {
    "sgd-linear": {"optimizer": "sgd", "scaling": "linear", "sync_bn": "true", "extra": "",
                   "about": "momentum SGD, linear scaling + warmup, SyncBatchNorm"},
    "lars": {"optimizer": "lars", "scaling": "sqrt", "sync_bn": "true", "extra": "",
             "about": "LARS, sqrt scaling + warmup, SyncBatchNorm"},
    "lamb": {"optimizer": "lamb", "scaling": "sqrt", "sync_bn": "true",
             "extra": "--optim.weight_decay 0.01 --optim.max_grad_norm 1.0",
             "about": "LAMB, sqrt scaling + warmup, wd 0.01, clip 1.0, SyncBatchNorm"},
    "local-bn": {"optimizer": "sgd", "scaling": "linear", "sync_bn": "false", "extra": "",
                 "about": "momentum SGD, linear scaling + warmup, per-rank batch norm"},
}
COLUMNS = ["task", "phase", "recipe", "global_batch", "seed", "ranks", "batch_per_rank", "accumulate", "bn_batch",
           "steps", "base_lr", "lr_scaling", "optimizer"]


def split(settings, recipe, batch):
    """(per-rank batch, accumulation, bn batch) of a global batch for a recipe."""
    ranks = settings["ranks"]
    per_rank = min(batch // ranks, settings["max_per_rank"])
    if recipe == "local-bn":
        per_rank = settings["local_bn_per_rank"]
    accumulate = batch // (ranks * per_rank)
    if ranks * per_rank * accumulate != batch:
        raise SystemExit(f"large-batch: {batch} images do not split into {ranks} ranks x {per_rank} x an "
                         f"accumulation ({recipe})")
    bn_batch = per_rank if RECIPES[recipe]["sync_bn"] == "false" else ranks * per_rank
    return per_rank, accumulate, bn_batch


def options(settings, recipe, batch, seed, lr, per_rank, accumulate, steps):
    r = RECIPES[recipe]
    words = [f"--data.train {settings['train']} --data.val {settings['val']}",
             f"--data.batch_size {per_rank} --train.accumulate_steps {accumulate} --train.steps {steps}",
             f"--optim.optimizer {r['optimizer']} --optim.lr {lr} --optim.lr_scaling {r['scaling']}",
             f"--optim.base_batch {settings['base_batch']} --optim.warmup_epochs {settings['warmup_epochs']}",
             f"--dist.sync_bn {r['sync_bn']} --data.seed {seed}",
             f"--train.eval_every_epochs {settings['eval_every_epochs']} --train.target_miou {settings['target']}",
             "--train.log_every 5 --ckpt.every_steps 0", r["extra"]]
    return " ".join(w for w in words if w)


def main():
    out, phase, settings = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    runs_csv = os.path.join(out, "runs.csv")
    existing = list(csv.DictReader(open(runs_csv))) if os.path.exists(runs_csv) else []
    first = len(existing)
    base = settings["base_batch"]
    planned = []  # (recipe, batch, seed, base lr)
    if phase == "search":
        for recipe in settings["recipes"]:
            if recipe == "local-bn":
                continue  # takes sgd-linear's rate
            for lr in settings["candidates"][recipe]:
                for seed in settings["seeds"]:
                    planned.append((recipe, base, seed, lr))
    else:
        rates = json.load(open(os.path.join(out, "rates.json")))
        done = {(r["recipe"], int(r["global_batch"]), r["seed"], float(r["base_lr"])) for r in existing}
        for batch in settings["batches"]:
            for recipe in settings["recipes"]:
                lr = rates["sgd-linear" if recipe == "local-bn" else recipe]
                for seed in settings["seeds"]:
                    if (recipe, batch, str(seed), float(lr)) not in done:
                        planned.append((recipe, batch, seed, lr))
    images = settings["images"]
    with open(runs_csv, "a", newline="") as table, open(os.path.join(out, "sweep.txt"), "a") as sweep:
        writer = csv.DictWriter(table, COLUMNS, lineterminator="\n")
        if first == 0:
            writer.writeheader()
        for offset, (recipe, batch, seed, lr) in enumerate(planned):
            per_rank, accumulate, bn_batch = split(settings, recipe, batch)
            steps = math.ceil(settings["max_epochs"] * images / batch)
            writer.writerow({"task": first + offset, "phase": phase, "recipe": recipe, "global_batch": batch,
                             "seed": seed, "ranks": settings["ranks"], "batch_per_rank": per_rank,
                             "accumulate": accumulate, "bn_batch": bn_batch, "steps": steps, "base_lr": lr,
                             "lr_scaling": RECIPES[recipe]["scaling"], "optimizer": RECIPES[recipe]["optimizer"]})
            sweep.write(options(settings, recipe, batch, seed, lr, per_rank, accumulate, steps) + "\n")
    print(first, len(planned))


if __name__ == "__main__":
    main()
