#!/usr/bin/env bash
# Installs what the tests need when it is missing (redis-server), then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v redis-server >/dev/null 2>&1; then
  echo "Installing redis-server (the tests start their own instances)..."
  as_root apt-get update
  # The tests start redis-server themselves; the package's own service is not needed.
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server redis-tools
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
dotnet test LiveNews.sln -c Release 2>&1 | tee "$log" || status=$?

# One closing line for humans and CI: totals over every test assembly.
passed=$(grep -oP 'Passed:\s+\K[0-9]+' "$log" | awk '{s+=$1} END {print s+0}')
failed=$(grep -oP 'Failed:\s+\K[0-9]+' "$log" | awk '{s+=$1} END {print s+0}')
echo "${passed:-0} passed, ${failed:-0} failed"
if [ "${passed:-0}" -eq 0 ] && [ "$status" -eq 0 ]; then
  echo "No test ran." >&2
  exit 1
fi
exit "$status"
