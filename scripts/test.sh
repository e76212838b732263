#!/usr/bin/env bash
# Installs what the tests need when it is missing (redis-server, Chromium, nginx), then runs every test:
# the browser client's unit tests and the .NET suite (real Redis, Garnet, server nodes, browser, nginx).
set -uo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/sbin/nginx ] || missing+=(nginx)
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing ${missing[*]} (the tests start their own Redis servers, a headless Chromium and nginx)..."
  as_root apt-get update || exit 1
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" || exit 1
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0

# npm ci again whenever the lock file changed since the last install (a stamp beside node_modules).
(cd clients/js && lock="$(sha256sum package-lock.json | cut -d' ' -f1)" \
  && { [ "$(cat node_modules/.livenews-lock 2>/dev/null)" = "$lock" ] || { npm ci --no-audit --no-fund && echo "$lock" > node_modules/.livenews-lock; }; } \
  && npm test) 2>&1 | tee -a "$log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

dotnet test LiveNews.sln -c Release 2>&1 | tee -a "$log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

# One closing line over both runners: node prints "# pass N", dotnet "Passed: N".
passed=$(grep -oP '^# pass \K[0-9]+|Passed:\s+\K[0-9]+' "$log" | awk '{s+=$1} END {print s+0}')
failed=$(grep -oP '^# fail \K[0-9]+|Failed:\s+\K[0-9]+' "$log" | awk '{s+=$1} END {print s+0}')
echo "${passed} passed, ${failed} failed"
if [ "$passed" -eq 0 ]; then
  echo "No test ran." >&2
  exit 1
fi
exit "$status"
