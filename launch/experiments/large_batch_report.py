#!/usr/bin/python3
"""The report of a large-batch sweep (launch/experiments/large-batch), from its run folders.

    large_batch_report.py OUT EPOCHS IMAGES

Reads OUT/runs.csv (a line per run: task, arm, global batch, seed, ranks, per-rank batch,
accumulation, bn batch, steps, warmup steps) and each run's OUT/runs/<task>/{metrics.jsonl,eval.json}.
Writes:
  OUT/results.csv   a row per run, with its learning rate after scaling, mIoU, mean images/s and wall time (from the
                    start of the run, sweep-line.txt, to its final checkpoint)
  OUT/results.md    per arm and global batch: the mean mIoU over the seeds, their spread (lowest to
                    highest), the change of the mean against the baseline (the linear arm at the
                    smallest batch; at that batch the fixed arm is the same run), images/s, wall time
  OUT/large-batch.png  mIoU against the global batch, a line per arm with bars over the seeds
                    (gnuplot; skipped with a note when it is missing)
"""
import configparser
import csv
import json
import os
import shutil
import subprocess
import sys

ARMS = {
    "linear": "linear scaling + warmup, SyncBatchNorm",
    "fixed": "fixed lr, SyncBatchNorm",
    "local-bn": "linear scaling + warmup, per-rank batch norm",
}


def scaled_lr(folder, global_batch):
    """The run's learning rate after scaling: optim.lr x global batch / optim.base_batch, or optim.lr."""
    config = configparser.ConfigParser(inline_comment_prefixes=("#",))
    config.read(os.path.join(folder, "config.ini"))
    optim = config["optim"]
    lr = float(optim["lr"])
    return lr * global_batch / float(optim["base_batch"]) if optim["lr_scaling"] == "linear" else lr


def run_result(folder, global_batch):
    """The scaled lr, mean images/s (after the first interval, which holds the start-up), mIoU, wall s."""
    records = [json.loads(line) for line in open(os.path.join(folder, "metrics.jsonl")) if '"loss"' in line]
    if not records:
        raise SystemExit(f"large-batch: run {folder} logged no step; see {folder}.out")
    speeds = [r["images_per_s"] for r in records[1:]] or [records[0]["images_per_s"]]
    evaluation = json.load(open(os.path.join(folder, "eval.json")))
    checkpoints = os.path.join(folder, "checkpoints")
    final = os.path.join(checkpoints, open(os.path.join(checkpoints, "latest")).read().strip())
    wall = os.path.getmtime(final) - os.path.getmtime(os.path.join(folder, "sweep-line.txt"))
    return {"lr": scaled_lr(folder, global_batch), "images_per_s": sum(speeds) / len(speeds),
            "miou": evaluation["miou"], "wall_s": wall}


def main():
    out, epochs, images = sys.argv[1], sys.argv[2], sys.argv[3]
    runs = list(csv.DictReader(open(os.path.join(out, "runs.csv"))))
    for run in runs:
        run.update(run_result(os.path.join(out, "runs", run["task"]), int(run["global_batch"])))
    columns = list(runs[0].keys())
    with open(os.path.join(out, "results.csv"), "w", newline="") as results:
        writer = csv.DictWriter(results, columns[1:], extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for run in runs:
            writer.writerow({**run, "lr": "%.4g" % run["lr"], "images_per_s": "%.1f" % run["images_per_s"],
                             "miou": "%.4f" % run["miou"], "wall_s": "%.1f" % run["wall_s"]})

    base_batch = min(int(r["global_batch"]) for r in runs)
    points = {}  # (arm, batch) -> runs
    for run in runs:
        points.setdefault((run["arm"], int(run["global_batch"])), []).append(run)
    arms = {arm for arm, _ in points}
    if "fixed" in arms and ("linear", base_batch) in points:  # the same run at the baseline batch
        points[("fixed", base_batch)] = points[("linear", base_batch)]
    baseline = points.get(("linear", base_batch))
    reference = sum(r["miou"] for r in baseline) / len(baseline) if baseline else None

    def mean(values):
        return sum(values) / len(values)

    lines = [f"Large-batch sweep: {epochs} epochs of {images} images at every global batch; "
             f"baseline: the linear arm at batch {base_batch}.", "",
             "| arm | global batch | ranks x batch x accumulation | bn batch | steps | lr | seeds | "
             "mIoU (mean) | spread (min-max) | change vs baseline | images/s | wall s |",
             "|:---|---:|:---:|---:|---:|---:|---:|---:|:---:|---:|---:|---:|"]
    order = [arm for arm in ARMS if arm in arms]
    data = {}
    for arm in order:
        for batch in sorted(b for a, b in points if a == arm):
            group = points[(arm, batch)]
            mious = [100 * r["miou"] for r in group]
            first = group[0]
            change = "" if reference is None else "%+.1f" % (mean(mious) - 100 * reference)
            lines.append(f"| {arm} | {batch} | {first['ranks']} x {first['batch_per_rank']} x {first['accumulate']} | "
                         f"{first['bn_batch']} | {first['steps']} | {first['lr']:.4g} | {len(group)} | "
                         f"{mean(mious):.1f}% | {min(mious):.1f}-{max(mious):.1f} | {change} | "
                         f"{mean([r['images_per_s'] for r in group]):.1f} | "
                         f"{mean([r['wall_s'] for r in group]):.0f} |")
            data.setdefault(arm, []).append((batch, mean(mious), min(mious), max(mious)))
    total = sum(r["wall_s"] for r in runs)
    lines += ["", f"{len(runs)} runs, {total / 60:.1f} minutes of training in all."]
    open(os.path.join(out, "results.md"), "w").write("\n".join(lines) + "\n")

    if not shutil.which("gnuplot"):
        print("large-batch: gnuplot not installed (launch/install-deps installs it); no plot", file=sys.stderr)
        return
    plots = []
    for arm in order:
        path = os.path.join(out, f"plot-{arm}.tsv")
        with open(path, "w") as table:
            table.writelines(f"{b}\t{m:.3f}\t{lo:.3f}\t{hi:.3f}\n" for b, m, lo, hi in data[arm])
        plots.append(f"'{path}' using 1:2:3:4 with yerrorlines title '{arm}: {ARMS[arm]}'")
    script = "\n".join([
        "set terminal pngcairo size 900,520",
        f"set output '{os.path.join(out, 'large-batch.png')}'",
        "set logscale x 2", "set xlabel 'global batch'", "set ylabel 'mIoU (%)'", "set key bottom left",
        "set grid", f"set title 'large-batch sweep: {epochs} epochs at every batch; bars: lowest to highest seed'",
        "plot " + ", ".join(plots)])
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


if __name__ == "__main__":
    main()
