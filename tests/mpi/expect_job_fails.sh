#!/usr/bin/env bash
# expect_job_fails.sh MODE LAUNCHER... BINARY
# Runs BINARY MODE under the launcher; rank 1 fails while rank 0 waits in a barrier. Passes only if
# the job ends within 30 s with a non-zero status and the failing rank's error is printed once,
# with its rank label.
set -u
# shellcheck source=launch/lib/common.sh
source "$(dirname "$0")/../../launch/lib/common.sh"
mode=$1; shift
case $mode in
  throw) expected="injected failure on the main thread" ;;
  thread) expected="injected failure in a background thread" ;;
  *) fail_with 2 "unknown mode $mode" ;;
esac
make_work_folder
output=$work/output
start=$(date +%s)
timeout -k 5 30 "$@" "$mode" >"$output" 2>&1
status=$?
elapsed=$(( $(date +%s) - start ))
cat "$output"
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  fail "the job still ran after 30 s: a failing rank did not bring it down"
fi
if [ "$status" -eq 0 ]; then
  fail "the job exited 0 although rank 1 failed"
fi
count=$(grep -c "atrous: error: \[rank 1/2 .*\] $expected" "$output")
if [ "$count" -ne 1 ]; then
  fail "expected the error of rank 1 exactly once, found it $count times"
fi
echo "PASS: job ended with status $status after ${elapsed}s; rank 1's error printed once"
