#!/usr/bin/env python3
"""Runs one fuzz target for a while: what each ctest entry of label fuzz does (README.md here).

  run_target.py FUZZER SEEDS WORK SECONDS RSS_MB [--upstream MODULE]... [-- LIBFUZZER_FLAGS...]

New inputs go to WORK/corpus (kept from run to run), the inputs of failures to WORK/artifacts/; the
committed SEEDS are read, never written. A crash, a sanitizer report, a leak, an input that takes
more than 10 s or more than RSS_MB of memory is a failure: exit status 1.

--upstream MODULE: failures whose first frame outside the sanitizers and the C/C++ runtime lies in
MODULE, a library that atrous calls but cannot fix (libhdf5 for the pack reader), do not end the run
and do not fail it. libFuzzer then runs in fork mode (one worker), keeping on past them; afterwards
each new failure is run again and its report read: those inside MODULE are moved to
WORK/artifacts/upstream/ and counted, any other fails the run, its report printed. Failures that do
not happen again, and memory use over RSS_MB that no allocation explains (the targets cap single
allocations lower, so that a large one is caught where it is made), are kept in WORK/artifacts and
listed, not judged.
"""
import argparse
import os
import pathlib
import re
import subprocess
import sys
import time

RUNTIME = re.compile(r"__sanitizer|__asan|__lsan|__ubsan|__interceptor|fuzzer::|/libc\.so|sysdeps/|"
                     r"libstdc\+\+|libgcc_s|ld-linux|(?:^|\s)in (?:malloc|calloc|realloc|free|memcpy|memmove|"
                     r"memset|strlen|operator new|operator delete|raise|abort)\b")
FRAME = re.compile(r"^\s*#\d+ 0x[0-9a-f]+ (.*)$")


def culprit(report):
    """The first frame of the report's first stack that is not the sanitizers' or the C/C++ runtime's."""
    started = False
    for line in report.splitlines():
        frame = FRAME.match(line)
        if frame:
            started = True
            if not RUNTIME.search(frame.group(1)):
                return frame.group(1)
        elif started:
            break
    return ""


def triage(args, since):
    """Failures since `since`, run again: moves those inside an upstream module; returns the others."""
    artifacts = args.work / "artifacts"
    upstream_folder = artifacts / "upstream"
    ours, upstream = [], []
    # The libraries have no frame pointers: unwind with their unwind tables, slower but exact.
    environment = dict(os.environ)
    unwinding = ["fast_unwind_on_malloc=0", "fast_unwind_on_fatal=0"]
    environment["ASAN_OPTIONS"] = ":".join(filter(None, [os.environ.get("ASAN_OPTIONS"), *unwinding]))
    for path in sorted(p for p in artifacts.iterdir() if p.is_file() and p.stat().st_mtime >= since):
        again = [str(args.fuzzer), "-timeout=10", f"-rss_limit_mb={args.rss_mb}", *args.flags, str(path)]
        run = subprocess.run(again, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, errors="replace")
        report = run.stdout
        frame = culprit(report)
        ours_for_sure = "runtime error:" in report or re.search(r"fuzz: .*(escape|broken promise)", report)
        inside = not ours_for_sure and any(module in frame for module in args.upstream)
        if run.returncode == 0:
            print(f"fuzz: {path.name} did not fail again; kept in {artifacts}")
        elif "out-of-memory (used:" in report:  # over -rss_limit_mb: the report names no allocation
            print(f"fuzz: {path.name} went over {args.rss_mb} MB with no allocation to blame; "
                  f"kept in {artifacts}")
        elif inside:
            upstream_folder.mkdir(exist_ok=True)
            path.rename(upstream_folder / path.name)
            upstream.append(f"{path.name}: {frame[:150]}")
        else:
            ours.append((path, report))
    for line in upstream:
        print(f"fuzz: upstream, not atrous: {line}")
    if upstream:
        print(f"fuzz: {len(upstream)} failure(s) inside {', '.join(args.upstream)} "
              f"moved to {upstream_folder}")
    return ours


def main():
    parser = argparse.ArgumentParser(usage=__doc__)
    parser.add_argument("fuzzer", type=pathlib.Path)
    parser.add_argument("seeds", type=pathlib.Path)
    parser.add_argument("work", type=pathlib.Path)
    parser.add_argument("seconds", type=int)
    parser.add_argument("rss_mb", type=int)
    parser.add_argument("--upstream", action="append", default=[])
    argv = sys.argv[1:]
    flags = argv[argv.index("--") + 1:] if "--" in argv else []
    args = parser.parse_args(argv[:len(argv) - len(flags) - (1 if "--" in argv else 0)])
    args.flags = flags
    args.fuzzer = args.fuzzer.resolve()
    corpus = args.work / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    (args.work / "artifacts").mkdir(exist_ok=True)
    command = [str(args.fuzzer), f"-max_total_time={args.seconds}", f"-rss_limit_mb={args.rss_mb}",
               "-timeout=10", "-print_final_stats=1", f"-artifact_prefix={args.work / 'artifacts'}/",
               *args.flags, str(corpus), str(args.seeds)]
    if not args.upstream:
        sys.stdout.flush()
        os.execv(command[0], command)
    since = time.time() - 1
    command[1:1] = ["-fork=1", "-ignore_crashes=1", "-ignore_timeouts=1", "-ignore_ooms=1"]
    status = subprocess.run(command).returncode
    ours = triage(args, since)
    for path, report in ours:
        print(f"fuzz: FAILURE in atrous code: {path}\n{report}")
    # In fork mode libFuzzer exits with the status of the last failure it went past (1 a crash, 70 a
    # timeout, 71 out of memory, 77 a leak or error): the triage judges those. Any other did not run.
    return 1 if ours or status not in (0, 1, 70, 71, 77) else 0


if __name__ == "__main__":
    sys.exit(main())
