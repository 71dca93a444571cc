#!/usr/bin/env bash
# The sanitizer run: the addon built by cmake-js from CMakeLists.txt with
# AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/, never
# build/Release/), then the suites that drive the addon and the decoder and
# verifier fuzz suites, with the sanitizer runtimes preloaded into Node.
#
#   .ci/asan.sh build    npm run build:asan   (offline: the running Node's own headers)
#   .ci/asan.sh test     npm run test:asan    (builds first; incremental)
#
# Fails on a failed build, a failed test, or ANY sanitizer report: ASan's
# reports go to files under test-results/asan/, so one raised in a child
# process whose exit status a test expects to be non-zero still fails the
# run; UBSan's (stderr) are searched for in the kept output. The vitest report is test-results/vitest-asan.json,
# which .ci/run adds to its count.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=build-asan
ADDON="$PWD/$OUT/Release/nodehost_native.node"

# The suites run under the sanitizers: every suite of the addon's own
# bindings (test/engines/native*.test.ts), the engines' differential suite
# (the native engine through the full verifier at every block edge and
# corruption class), the import's stale-entry removal through the addon's
# LevelDB, the addon's LevelDB write batch (encoded puts, malformed
# pieces, locks, cancellation), the carried log suffix through the addon's entry-frame kernel
# against the portable path, and the fuzz suites of the record decoders and
# the snapshot verifier. About 70 s on 2 cores.
SUITES=(
  test/engines/native*.test.ts
  test/engines/differential.test.ts
  test/ops/stale-entries.test.ts
  test/logdb/native-remove.test.ts
  test/logdb/native-batch.test.ts
  test/ops/import-log-native.test.ts
  test/records/fuzz.test.ts
  test/snapshot/fuzz.test.ts
)

build() {
  # Node's headers exactly as scripts/build-native.mjs finds them for node-gyp:
  # npm's nodedir, else the running Node's prefix (include/node/node_api.h).
  # cmake-js takes npm_config_nodedir as its runtime directory, and with the
  # headers there it downloads nothing.
  local nodedir
  nodedir=$(node -e '
    const fs = require("fs"), path = require("path");
    for (const c of [process.env.npm_config_nodedir, path.resolve(process.execPath, "../..")]) {
      if (c && fs.existsSync(path.join(c, "include", "node", "node_api.h"))) { process.stdout.write(c); process.exit(0); }
    }
    console.error("cannot find Node.js headers (include/node/node_api.h); set npm_config_nodedir");
    process.exit(1);')
  local jobs
  jobs=$(node -p 'require("os").availableParallelism?.() ?? require("os").cpus().length')
  local started=$SECONDS
  npm_config_nodedir="$nodedir" node node_modules/cmake-js/bin/cmake-js build \
    --out "$OUT" --parallel "$jobs" --log-level warn
  # cmake-js leaves compile_commands.json in build-asan/ (CMAKE_EXPORT_COMPILE_COMMANDS).
  echo "asan: addon built in $((SECONDS - started)) s ($OUT/Release/nodehost_native.node, compile_commands.json in $OUT/)" >&2
}

runtime() {
  local lib
  lib=$(gcc -print-file-name="$1")
  if [ "$lib" = "$1" ] || [ ! -e "$lib" ]; then
    echo "asan: gcc has no $1 (install the compiler's sanitizer runtime)" >&2
    exit 1
  fi
  printf '%s' "$lib"
}

run_tests() {
  build
  local logdir="$PWD/test-results/asan"
  rm -rf "$logdir"
  mkdir -p "$logdir"
  local preload
  preload="$(runtime libasan.so):$(runtime libubsan.so)"
  local started=$SECONDS
  # detect_leaks=0: Node itself leaks by design at exit. ASan writes its
  # reports to files (log_path), so one in any process is seen. UBSan, when
  # linked with ASan, ignores log_path and prints to stderr: the run's output
  # is kept and searched as well. The addon's sanitizer build is named by
  # NODEHOST_TOOLS_NATIVE_PATH (src/native/binding.ts).
  set +e
  env LD_PRELOAD="$preload" \
    ASAN_OPTIONS="detect_leaks=0:log_path=$logdir/asan" \
    UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" \
    NODEHOST_TOOLS_NATIVE_PATH="$ADDON" \
    node node_modules/vitest/vitest.mjs run --project leveldb \
      --outputFile.json=test-results/vitest-asan.json "${SUITES[@]}" 2>&1 | tee "$logdir/vitest.log"
  local status=${PIPESTATUS[0]}
  set -e

  local reports=("$logdir"/asan.*)
  if [ -e "${reports[0]}" ]; then
    echo "asan: ${#reports[@]} AddressSanitizer report(s):" >&2
    for r in "${reports[@]}"; do
      echo "---- $r" >&2
      head -n 60 "$r" >&2
    done
    status=1
  fi
  if grep -qE 'runtime error:|ERROR: [A-Za-z]+Sanitizer|SUMMARY: [A-Za-z]+Sanitizer' "$logdir/vitest.log"; then
    echo "asan: sanitizer report(s) in the test output (test-results/asan/vitest.log):" >&2
    grep -E -A3 'runtime error:|ERROR: [A-Za-z]+Sanitizer' "$logdir/vitest.log" | head -n 40 >&2
    status=1
  fi
  echo "asan: tests ran in $((SECONDS - started)) s, status $status" >&2
  return "$status"
}

case "${1:-test}" in
  build) build ;;
  test) run_tests ;;
  *) echo "usage: .ci/asan.sh build|test" >&2; exit 2 ;;
esac
