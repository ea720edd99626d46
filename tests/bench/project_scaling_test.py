"""bench/project-scaling on fixed input: a hand-made timeline -> the profile it must give, and the
projection against figures worked out by hand from the documented formulas.
    python3 project_scaling_test.py PATH/TO/bench/project-scaling"""
import json
import os
import subprocess
import sys
import tempfile

tool = sys.argv[1]
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)


def run(*args):
    result = subprocess.run([sys.executable, tool, *args], capture_output=True, text=True)
    return result.returncode, result.stdout + result.stderr


def span(name, ts, dur, pid=0):
    return {"ph": "X", "pid": pid, "tid": 0, "name": name, "ts": ts, "dur": dur}


def collective(purpose, ts, count, dtype="float32", pid=0, kind="allreduce"):
    what = f"allgather of {count} {dtype} per rank" if kind == "allgather" else f"allreduce(sum) of {count} {dtype}"
    return {"ph": "b", "pid": pid, "tid": 1, "cat": "collective", "name": f"{purpose} {kind}", "ts": ts, "id": "x",
            "args": {"label": f"collective #1 ({what} for {purpose})"}}


def step(start):
    """A step: forward 100 us (a 10-us batch-norm wait inside, an allgather of 128 bytes per rank),
    loss 20, backward 200 (a 30-us wait at 50, an allreduce of 128 bytes), optimizer 40; buckets of
    4000 and 2000 bytes ready at 80 us and after backward."""
    return [span("data", start, 5), span("forward", start + 5, 100), span("wait bn", start + 20, 10),
            collective("batch_norm", start + 20, 16, "float64", kind="allgather"), span("loss", start + 105, 20),
            span("backward", start + 125, 200), span("wait bn", start + 175, 30),
            collective("batch_norm", start + 175, 16, "float64"), collective("gradients", start + 205, 1000),
            span("gradients", start + 325, 5), collective("gradients", start + 326, 500, "float32"),
            collective("step_agreement", start + 331, 4, "float64"), span("optimizer", start + 335, 40)]


with tempfile.TemporaryDirectory() as work:
    timeline = {"traceEvents": step(0) + step(1000) + step(2000) + [span("data", 0, 999, pid=1)]}
    with open(os.path.join(work, "timeline.json"), "w") as file:
        json.dump(timeline, file)
    code, out = run("profile", os.path.join(work, "timeline.json"), "--out", os.path.join(work, "profile.json"))
    check(code == 0, f"profile failed: {out}")
    profile = json.load(open(os.path.join(work, "profile.json")))
    check(profile["steps"] == 2, f"the first step is a warm-up: {profile['steps']} steps kept")
    check(profile["forward_ms"] == 0.11, f"forward + loss without the wait: {profile['forward_ms']}")
    check(profile["backward_ms"] == 0.17, f"backward without the wait: {profile['backward_ms']}")
    check(profile["optimizer_ms"] == 0.04, f"optimizer: {profile['optimizer_ms']}")
    # bucket 1: issued 80 us into backward, after a 30-us wait -> 50 us of compute; bucket 2 after
    # backward's end -> ready at its end (170 us of compute).
    check(profile["buckets"] == [{"bytes": 4000, "ready_ms": 0.05}, {"bytes": 2000, "ready_ms": 0.17}],
          f"buckets: {profile['buckets']}")
    check([(b["purpose"], b["collective"], b["bytes"]) for b in profile["blocking"]] ==
          [("batch_norm", "allgather", 128), ("batch_norm", "allreduce", 128), ("step_agreement", "allreduce", 32)],
          f"blocking: {profile['blocking']}")

    # 2 GPUs, one per node, textbook ring: cost = 2 (n-1) hop + 2 (n-1)/n bytes / busbw
    # = 2 hops x 10 us + bytes / 1e6 B/s: bucket 1 4020 us, bucket 2 2020 us; the batch-norm
    # allreduce (128 B) 148 us, the agreement (32 B) 52 us; an allgather: (n - 1) hops +
    # (n - 1) x bytes per rank / busbw: 10 + 128 = 138 us.
    # buckets: start 50, end 4070; then 4070 -> 6090; backward ends at 170 -> exposed 5920 us.
    # step(2) = 110 + 170 + 40 + 5920 + 138 + 148 + 52 = 6578 us; step(1) = 320 us.
    code, out = run("project", "--profile", os.path.join(work, "profile.json"), "--step-ms", "0.32",
                    "--gpus-per-node", "1", "--network-gbps", "0.001", "--hop-us", "10", "--max-gpus", "2")
    check(code == 0, f"project failed: {out}")
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.split() and line.split()[0] in "12"}
    check(rows.get("2", [])[2:5] == ["6.58", "5.92", "0.34"], f"2 GPUs: {rows.get('2')} in\n{out}")
    check(rows.get("2", [None] * 6)[5] == "4.9%", f"efficiency 320 / 6578: {rows.get('2')}")
    code, out = run("project", "--profile", os.path.join(work, "profile.json"), "--step-ms", "0.32",
                    "--gpus-per-node", "1", "--network-gbps", "0.001", "--hop-us", "10", "--max-gpus", "2",
                    "--sync-bn", "none")
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.split() and line.split()[0] in "12"}
    check(rows.get("2", [])[4:5] == ["0.05"], f"without SyncBatchNorm only the agreement blocks: {rows.get('2')}")
    # NCCL's model on one 8-GPU node: the default tables must give a positive, finite cost.
    code, out = run("project", "--profile", os.path.join(work, "profile.json"), "--max-gpus", "8")
    check(code == 0 and "8      1" in out, f"NCCL's model on one node: {out}")
    # Bad input: named, non-zero exit.
    code, out = run("project", "--profile", os.path.join(work, "missing.json"))
    check(code != 0 and "missing.json" in out, f"a missing profile: {code} {out}")
    with open(os.path.join(work, "not-a-profile.json"), "w") as file:
        json.dump({"forward_ms": 1.0}, file)
    code, out = run("project", "--profile", os.path.join(work, "not-a-profile.json"))
    check(code != 0 and "not-a-profile.json" in out and "is not a profile" in out and "Traceback" not in out,
          f"a file that is not a profile: {code} {out}")
    code, out = run("project", "--profile", os.path.join(work, "profile.json"), "--step-ms", "0")
    check(code != 0 and "--step-ms" in out, f"--step-ms 0: {code} {out}")

for failure in failures:
    print("FAIL:", failure)
print("project-scaling test:", "all checks passed" if not failures else f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
