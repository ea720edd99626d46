#!/usr/bin/python3
"""The report of a large-batch sweep (launch/experiments/large-batch), from its run folders.

    large_batch_report.py OUT MAX_EPOCHS TARGET [pick]

With `pick`: reads the search runs (phase search in OUT/runs.csv), chooses each recipe's base rate
(the fewest epochs to the target; among runs that do not reach it, or on a tie, the highest best
mIoU; seeds averaged) and writes OUT/rates.json and OUT/lr-search.md. Without: reads every run's
OUT/runs/<task>/{target.json,metrics.jsonl} and writes
  OUT/results.csv      a row per run: recipe, batch, split, seed, base and scaled rate, whether and when
                       it reached the target (epochs, steps, images, minutes), its best mIoU, images/s
  OUT/results.md       per recipe and global batch (the runs at the recipe's chosen rate): epochs to
                       the target (mean over the seeds that reached it, spread), the ratio to the same
                       recipe's epochs at the base batch, steps, images, minutes, best mIoU; then what
                       the table shows against the sweep's goals
  OUT/large-batch.png  epochs to target against the global batch, a line per recipe; runs that did not
                       reach it are drawn at the cap as open marks (gnuplot; skipped with a note when
                       it is missing)
"""
import csv
import json
import math
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from large_batch_plan import RECIPES  # noqa: E402


def scaled(base_lr, scaling, batch, base_batch):
    ratio = batch / base_batch
    return base_lr * (ratio if scaling == "linear" else math.sqrt(ratio) if scaling == "sqrt" else 1.0)


def load(out):
    runs = list(csv.DictReader(open(os.path.join(out, "runs.csv"))))
    base_batch = min(int(r["global_batch"]) for r in runs)
    for run in runs:
        folder = os.path.join(out, "runs", run["task"])
        path = os.path.join(folder, "target.json")
        if not os.path.exists(path):
            raise SystemExit(f"large-batch: run {run['task']} wrote no target.json; see {folder}.out")
        target = json.load(open(path))
        records = [json.loads(line) for line in open(os.path.join(folder, "metrics.jsonl")) if '"loss"' in line]
        speeds = [r["images_per_s"] for r in records[1:]] or [r["images_per_s"] for r in records] or [0.0]
        run.update({"global_batch": int(run["global_batch"]), "base_lr": float(run["base_lr"]),
                    "reached": bool(target["reached"]), "epochs": target["epoch"], "steps_to_target": target["step"],
                    "images_to_target": target["images"], "minutes": None if target["wall_s"] is None
                    else target["wall_s"] / 60, "best_miou": target["best_miou"],
                    "last_epoch": target["last_epoch"], "images_per_s": sum(speeds) / len(speeds)})
        run["lr"] = scaled(run["base_lr"], run["lr_scaling"], run["global_batch"], base_batch)
    return runs, base_batch


def mean(values):
    return sum(values) / len(values) if values else None


def summary(group):
    """Epochs to target over the seeds (None unless every seed reached it), and the other figures."""
    reached = [r for r in group if r["reached"]]
    epochs = [r["epochs"] for r in reached]
    return {"all_reached": len(reached) == len(group), "reached": len(reached), "seeds": len(group),
            "epochs": mean(epochs) if len(reached) == len(group) else None,
            "low": min(epochs) if epochs else None, "high": max(epochs) if epochs else None,
            "steps": mean([r["steps_to_target"] for r in reached]), "images": mean([r["images_to_target"] for r in reached]),
            "minutes": mean([r["minutes"] for r in reached]), "best": mean([r["best_miou"] for r in group]),
            "speed": mean([r["images_per_s"] for r in group])}


def pick(out, target):
    runs, base_batch = load(out)
    search = [r for r in runs if r["phase"] == "search"]
    rates, lines = {}, [f"Learning-rate search at the base batch {base_batch}: each candidate rate trained to the "
                        f"target mIoU {100 * target:.1f}% or the cap; chosen: fewest epochs to the target, then "
                        "the highest best mIoU.", "",
                        "| recipe | base lr | seeds | epochs to target | best mIoU | chosen |", "|:---|---:|---:|---:|---:|:---:|"]
    for recipe in RECIPES:
        candidates = {}
        for run in search:
            if run["recipe"] == recipe:
                candidates.setdefault(run["base_lr"], []).append(run)
        if not candidates:
            continue
        scored = {lr: summary(group) for lr, group in candidates.items()}
        best = min(scored, key=lambda lr: (scored[lr]["epochs"] if scored[lr]["epochs"] is not None else math.inf,
                                           -scored[lr]["best"]))
        rates[recipe] = best
        for lr in sorted(scored):
            s = scored[lr]
            epochs = f"{s['epochs']:.2f}" if s["epochs"] is not None else f"not reached ({s['reached']} of {s['seeds']})"
            lines.append(f"| {recipe} | {lr:g} | {s['seeds']} | {epochs} | {100 * s['best']:.1f}% | "
                         f"{'yes' if lr == best else ''} |")
    json.dump(rates, open(os.path.join(out, "rates.json"), "w"))
    open(os.path.join(out, "lr-search.md"), "w").write("\n".join(lines) + "\n")
    print("\n".join(lines))


def report(out, max_epochs, target):
    runs, base_batch = load(out)
    rates = json.load(open(os.path.join(out, "rates.json")))
    with open(os.path.join(out, "results.csv"), "w", newline="") as results:
        columns = ["task", "phase", "recipe", "global_batch", "seed", "ranks", "batch_per_rank", "accumulate",
                   "bn_batch", "base_lr", "lr", "reached", "epochs", "steps_to_target", "images_to_target", "minutes",
                   "best_miou", "last_epoch", "images_per_s"]
        writer = csv.DictWriter(results, columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for run in runs:
            row = dict(run)
            for key, form in (("lr", "%.4g"), ("epochs", "%.3f"), ("minutes", "%.2f"), ("best_miou", "%.4f"),
                              ("last_epoch", "%.3f"), ("images_per_s", "%.1f")):
                row[key] = "" if run[key] is None else form % run[key]
            for key in ("steps_to_target", "images_to_target"):
                row[key] = "" if run[key] is None else run[key]
            writer.writerow(row)

    points = {}  # (recipe, batch) -> the runs at the recipe's chosen rate
    for run in runs:
        chosen = rates.get("sgd-linear" if run["recipe"] == "local-bn" else run["recipe"])
        if chosen is not None and abs(run["base_lr"] - chosen) <= 1e-12 * max(1.0, chosen):
            points.setdefault((run["recipe"], run["global_batch"]), []).append(run)
    recipes = [r for r in RECIPES if any(p[0] == r for p in points)]
    batches = sorted({b for _, b in points})
    table = {key: summary(group) for key, group in points.items()}

    def fmt(value, form):
        return "-" if value is None else form % value

    lines = [f"Large-batch sweep: epochs to reach {100 * target:.1f}% validation mIoU, per global batch and recipe; "
             f"cap {max_epochs} epochs; base batch {base_batch}.", "",
             "| recipe | global batch | ranks x batch x accumulation | bn batch | lr | seeds | epochs to target | "
             "spread | vs base batch | steps | images | minutes | best mIoU | images/s |",
             "|:---|---:|:---:|---:|---:|---:|---:|:---:|---:|---:|---:|---:|---:|---:|"]
    for recipe in recipes:
        for batch in batches:
            if (recipe, batch) not in table:
                continue
            s, first = table[(recipe, batch)], points[(recipe, batch)][0]
            base = table.get((recipe, base_batch), {}).get("epochs")
            ratio = "-" if s["epochs"] is None or not base else f"{s['epochs'] / base:.2f}x"
            epochs = (f"{s['epochs']:.2f}" if s["epochs"] is not None
                      else f"not reached ({s['reached']} of {s['seeds']})")
            spread = "-" if s["low"] is None else f"{s['low']:.2f}-{s['high']:.2f}"
            lines.append(f"| {recipe} | {batch} | {first['ranks']} x {first['batch_per_rank']} x {first['accumulate']} | "
                         f"{first['bn_batch']} | {first['lr']:.4g} | {s['seeds']} | {epochs} | {spread} | {ratio} | "
                         f"{fmt(s['steps'], '%.0f')} | {fmt(s['images'], '%.0f')} | {fmt(s['minutes'], '%.1f')} | "
                         f"{100 * s['best']:.1f}% | {s['speed']:.1f} |")
    lines += ["", "Recipes: " + "; ".join(f"{r}: {RECIPES[r]['about']}" for r in recipes) + "."]
    lines += ["", "What it shows:"] + [f"- {line}" for line in goals(table, recipes, batches, base_batch, max_epochs)]
    lines += ["", f"{len(runs)} runs; the search's are in lr-search.md when the sweep ran one."]
    open(os.path.join(out, "results.md"), "w").write("\n".join(lines) + "\n")
    plot(out, table, recipes, batches, max_epochs, target)


def goals(table, recipes, batches, base_batch, max_epochs):
    said = []
    sgd = [b for b in batches if ("sgd-linear", b) in table]
    if sgd:
        failing = [b for b in sgd if table[("sgd-linear", b)]["epochs"] is None]
        if failing:
            said.append(f"SGD with linear scaling does not reach the target within {max_epochs} epochs from global "
                        f"batch {failing[0]} on (reached at {', '.join(str(b) for b in sgd if b < failing[0]) or 'none'}).")
        else:
            said.append(f"SGD with linear scaling reaches the target at every batch up to {sgd[-1]}.")
    big = base_batch * 16
    if big in batches:
        best = None
        for recipe in recipes:
            s, base = table.get((recipe, big)), table.get((recipe, base_batch))
            if s and s["epochs"] is not None and base and base["epochs"]:
                ratio = s["epochs"] / base["epochs"]
                if best is None or ratio < best[1]:
                    best = (recipe, ratio, s["epochs"], base["epochs"])
        if best:
            verdict = "meets" if best[1] <= 3 else "misses"
            said.append(f"At 16x the base batch ({big}) the best recipe, {best[0]}, needs {best[2]:.2f} epochs against "
                        f"{best[3]:.2f} at batch {base_batch}: {best[1]:.2f}x ({verdict} the goal of at most 3x).")
        else:
            said.append(f"At 16x the base batch ({big}) no recipe reached the target within {max_epochs} epochs "
                        "(goal: at most 3x the base batch's epochs).")
    for batch in batches:
        local, synced = table.get(("local-bn", batch)), table.get(("sgd-linear", batch))
        if local and synced:
            text = lambda s: f"{s['epochs']:.2f} epochs" if s["epochs"] is not None else "not reached"
            said.append(f"Per-rank batch norm at batch {batch}: {text(local)} against {text(synced)} with "
                        "SyncBatchNorm (same optimizer and rate).")
    return said


def plot(out, table, recipes, batches, max_epochs, target):
    if not shutil.which("gnuplot"):
        print("large-batch: gnuplot not installed (launch/install-deps installs it); no plot", file=sys.stderr)
        return
    series = []
    for index, recipe in enumerate(recipes):
        path = os.path.join(out, f"plot-{recipe}.tsv")
        with open(path, "w") as data:
            for batch in batches:
                s = table.get((recipe, batch))
                if s is None:
                    continue
                reached = s["epochs"] is not None
                data.write(f"{batch}\t{s['epochs'] if reached else 'NaN'}\t{'NaN' if reached else max_epochs}\n")
        colour = index + 1
        series.append(f"'{path}' using 1:2 with linespoints lt {colour} pt 7 title '{recipe}'")
        series.append(f"'{path}' using 1:3 with points lt {colour} pt 6 ps 2 notitle")
    script = "\n".join([
        "set terminal pngcairo size 900,520", f"set output '{os.path.join(out, 'large-batch.png')}'",
        "set logscale x 2", "set xlabel 'global batch'", "set ylabel 'epochs to target'", "set key top left",
        "set grid", f"set yrange [0:{max_epochs * 1.1}]",
        f"set title 'epochs to {100 * target:.0f}% mIoU; open circles at the cap: not reached in {max_epochs} epochs'",
        "plot " + ", ".join(series)])
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


def main():
    out, max_epochs, target = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    if len(sys.argv) > 4 and sys.argv[4] == "pick":
        pick(out, target)
    else:
        report(out, max_epochs if max_epochs != int(max_epochs) else int(max_epochs), target)
        print(open(os.path.join(out, "results.md")).read(), end="")


if __name__ == "__main__":
    main()
