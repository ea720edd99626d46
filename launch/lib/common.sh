# shellcheck shell=bash
# launch/lib/common.sh: the functions that the bash scripts of launch/, bench/, cluster/local/,
# datasets/ and tests/ share. Sourced, never run; from a script one folder below the checkout:
#   source "$(dirname "${BASH_SOURCE[0]}")/../launch/lib/common.sh"
# (the SLURM batch scripts run from a copy in SLURM's spool folder: they source it only once they
# have found their checkout).
#
# Contract. Sourcing it defines the functions below and the variable atrous_checkout, and nothing
# else: it sets no shell options (set -e, -u, -o pipefail stay as the script set them), installs no
# trap and runs nothing but dirname and pwd. Sourcing it twice is harmless (the second time does
# nothing). Every function works with or without set -euo pipefail (bash 4.3 or later). The
# functions read none of the script's variables, only their arguments; the variables they set are
# named below (on_exit keeps its commands in _on_exit_commands).
#
#   atrous_checkout            the absolute path of the checkout that holds this file
#   fail MESSAGE...            prints "SCRIPT: MESSAGE" on standard error and exits 1; SCRIPT is the
#                              file name of the running script (${0##*/}). A script may define its
#                              own fail after sourcing this file (the tests count failed checks).
#   fail_with STATUS MESSAGE...   the same, exiting with STATUS (2 for a usage error, ...)
#   fail_with_log LOG MESSAGE...  the same as fail, followed by the last 5 lines of the file LOG
#   on_exit COMMAND            COMMAND (a string, evaluated then) runs when the script exits, before
#                              the commands added earlier (the last added runs first); a failing
#                              COMMAND does not stop the others or change the exit status. Installs
#                              the EXIT trap: a trap the script sets afterwards replaces them all.
#   make_work_folder           sets work to a new temporary folder, removed on exit (on_exit)
#   mpirun_command ARRAY RANKS [OPTION...]
#                              sets the array named ARRAY to the Open MPI launcher line
#                                mpirun [-np RANKS] OPTION... [--oversubscribe] [--allow-run-as-root]
#                              (no -np when RANKS is empty; --oversubscribe when the machine has
#                              fewer CPUs than RANKS (nproc) unless an OPTION is --oversubscribe;
#                              --allow-run-as-root when run as root). Declare the array first
#                              (declare -a NAME, or local NAME=() in a function) so that shellcheck
#                              sees it assigned; its name must not begin with _mpirun_.
#   malloc_tunables            prints the GLIBC_TUNABLES value with atrous's malloc settings, for
#                              programs that do not set them themselves (the benchmarks' Python
#                              peers, atrous_model_step_bench); atrous and the other benchmark
#                              programs apply the same value at start (src/core/allocator_tuning.cpp,
#                              which this value must match)
#   make_demo_packs ATROUS DIR [TRAIN VAL [SIZE [SEED]]]
#                              datasets/make-demo-packs with these arguments (the demo scenes in
#                              DIR/source, packed into DIR/train.h5 and DIR/val.h5 by the atrous
#                              program ATROUS), silent unless it fails: then its output goes to
#                              standard error and the status is 1
if declare -F make_work_folder >/dev/null; then return 0; fi  # sourced already (a variable could be inherited)
atrous_checkout=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

fail() { fail_with 1 "$@"; }

fail_with() {
  local status=$1
  shift
  echo "${0##*/}: $*" >&2
  exit "$status"
}

fail_with_log() {
  local log=$1
  shift
  echo "${0##*/}: $*" >&2
  tail -5 "$log" >&2
  exit 1
}

on_exit() {
  _on_exit_commands=("$1" ${_on_exit_commands[@]+"${_on_exit_commands[@]}"})
  trap _run_on_exit EXIT
}

_run_on_exit() {
  local command
  for command in "${_on_exit_commands[@]}"; do
    eval "$command" || true
  done
}

make_work_folder() {
  work=$(mktemp -d) || fail_with 1 "cannot make a temporary folder"
  on_exit "rm -rf $(printf '%q' "$work")"
}

mpirun_command() {
  local -n _mpirun_line=$1
  local _mpirun_ranks=$2 _mpirun_option _mpirun_oversubscribe=false
  shift 2
  _mpirun_line=(mpirun)
  if [ -n "$_mpirun_ranks" ]; then
    _mpirun_line+=(-np "$_mpirun_ranks")
    if [ "$(nproc)" -lt "$_mpirun_ranks" ]; then _mpirun_oversubscribe=true; fi
  fi
  _mpirun_line+=("$@")
  for _mpirun_option in "$@"; do
    if [ "$_mpirun_option" = --oversubscribe ]; then _mpirun_oversubscribe=false; fi
  done
  if $_mpirun_oversubscribe; then _mpirun_line+=(--oversubscribe); fi
  if [ "$(id -u)" -eq 0 ]; then _mpirun_line+=(--allow-run-as-root); fi
}

malloc_tunables() {
  echo "glibc.malloc.mmap_threshold=2147483648:glibc.malloc.trim_threshold=17179869184:glibc.malloc.arena_max=1"
}

make_demo_packs() {
  local output
  if ! output=$("$atrous_checkout/datasets/make-demo-packs" "$@" 2>&1); then
    printf '%s\n' "$output" >&2
    return 1
  fi
}
