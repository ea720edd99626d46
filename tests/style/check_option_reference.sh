#!/usr/bin/env bash
# docs/options.md is what `atrous help options` prints from the options' declarations
# (cli/option_reference.h): fails with the difference when the page and the code disagree.
#   check_option_reference.sh ATROUS REPO_ROOT
set -euo pipefail
atrous=$1 root=$2
generated=$(mktemp)
trap 'rm -f "$generated"' EXIT
"$atrous" help options >"$generated"
if ! diff -u "$root/docs/options.md" "$generated"; then
  echo "docs/options.md differs from the options' declarations (above: - the page, + the code);" \
    "regenerate it: build/src/atrous help options > docs/options.md" >&2
  exit 1
fi
echo "docs/options.md matches the declarations of $(grep -c '^| `' "$generated") options"
