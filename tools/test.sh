#!/usr/bin/env bash
# Build crmcore and run every test suite: C unit tests, the backend
# conformance suite, the CLI, Python and Java bindings; then the C suites
# again under AddressSanitizer + UBSan and under valgrind, and the fuzz targets
# for a bounded time.
# The last line is the total: `N passed, N failed`.
#
#   bash tools/test.sh           everything
#   bash tools/test.sh --quick   the plain build only
set -uo pipefail
cd "$(dirname "$0")/.."
quick=0
[ "${1:-}" = "--quick" ] && quick=1

bash tools/install-deps.sh || { echo "0 passed, 1 failed"; exit 1; }

status=0
runs=()

run_build() { # label builddir testlog meson-setup-args... -- meson-test-args...
  local label=$1 dir=$2 log=$3; shift 3
  local setup=() testargs=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do setup+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  testargs=("$@")
  echo "== $label: build in $dir" >&2
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "${setup[@]}" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log" >&2; status=1; return; }
  fi
  ninja -C "$dir" >"$dir.build.log" 2>&1 || { tail -50 "$dir.build.log" >&2; status=1; return; }
  echo "== $label: test" >&2
  meson test -C "$dir" --print-errorlogs "${testargs[@]}" >&2 || status=1
  runs+=("$label=$dir/meson-logs/$log")
}

run_build plain build testlog.json --
if [ $quick -eq 0 ]; then
  run_build asan build-asan testlog.json -Db_sanitize=address,undefined -Db_lundef=false -Dbindings=disabled \
    -Dc_args=-fno-sanitize-recover=all -- --suite unit --suite conformance --suite cli
  # Same build as the plain run; meson keeps this setup's log apart.
  run_build valgrind build testlog-valgrind.json -- --setup valgrind --suite unit --suite conformance
  # The libFuzzer targets (cleaners, match configuration), each for a bounded
  # time, on a clang build instrumented for coverage and ASan+UBSan.
  CC=clang run_build fuzz build-fuzz testlog.json -Dfuzz=enabled -Dbindings=disabled \
    -Db_sanitize=address,undefined -Db_lundef=false -Dc_args=-fsanitize=fuzzer-no-link -- --suite fuzz
fi

python3 tools/count_tests.py "${runs[@]}" || status=1
exit $status
