#!/usr/bin/env bash
# Interop suite: the real Dragonboat v4 (Go) around the nodehost-tools CLI.
# Needs Go >= 1.24 and the Go module proxy; everything else runs on temp dirs
# and 127.0.0.1 ports. Tests that need the CLI skip until bin/nodehost.js runs
# (dist/ built); INTEROP_REQUIRE_CLI=1 makes that a failure.
#
# Knobs: INTEROP_JSON=file (also write `go test -json` there, for CI counts),
# INTEROP_CLI=path (another CLI build: a .js file, or an executable such as
# cmd/refcli), INTEROP_KEEP=1 (keep scenario dirs), INTEROP_FIXTURES_DIR=dir
# (keep generated fixtures), INTEROP_VERBOSE=1 (Dragonboat logs).
# Extra arguments go to `go test` (e.g. -run TestFormatFacts -v).
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v go >/dev/null 2>&1; then
  echo "interop: go is not installed" >&2
  exit 1
fi
# No cgo: Dragonboat pulls in pebble, whose cgo zstd (DataDog/zstd, unused
# here) takes minutes to compile on a cold cache; pure Go takes under one.
export CGO_ENABLED=0

if [ -z "${INTEROP_JSON:-}" ]; then
  exec go test ./... -count=1 -timeout 15m "$@"
fi

case "$INTEROP_JSON" in /*) json="$INTEROP_JSON" ;; *) json="$OLDPWD/$INTEROP_JSON" ;; esac
mkdir -p "$(dirname "$json")"
status=0
go test -json ./... -count=1 -timeout 15m "$@" >"$json" || status=$?
go run ./cmd/testreport "$json" || true
exit $status
