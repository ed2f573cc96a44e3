#!/usr/bin/env bash
# Runs the whole test suite against real servers: installs etcd, Redis, NATS and s3rver when missing, starts them on
# free 127.0.0.1 ports, runs `dotnet test`, stops every server it started, and exits with the tests' status.
# Extra arguments go to `dotnet test` (for example: ./scripts/test.sh --filter FullyQualifiedName~Params).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
# shellcheck source=servers.sh
source "$repo_root/scripts/servers.sh"

results_dir="$(mktemp -d "${TMPDIR:-/tmp}/milvus-test-results.XXXXXX")"
test_pid=""
# Stops, in order: `dotnet test` with everything it started and anything of that left running (test host, gateway
# processes, private servers, Chromium: they share its process group), then the servers, then the results. Runs on
# every exit: success, failure, Ctrl-C, SIGTERM.
cleanup() {
  if [ -n "$test_pid" ] && kill -0 -- "-$test_pid" 2>/dev/null; then
    echo "[test] stopping what dotnet test started and left running" >&2
    kill -TERM -- "-$test_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 -- "-$test_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$test_pid" 2>/dev/null || true
  fi
  servers_stop
  rm -rf "$results_dir"
}
trap cleanup EXIT
# A signal ends the wait below at once (bash would run the trap only after a foreground command had finished).
trap 'exit 130' INT
trap 'exit 143' TERM

# The Swagger UI test drives Debian's chromium, headless.
if ! command -v chromium >/dev/null 2>&1; then
  echo "[test] installing chromium with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  servers_as_root apt-get update -qq </dev/null
  servers_as_root apt-get install -y -qq --no-install-recommends chromium </dev/null >/dev/null
fi
servers_install
servers_start

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

status=0
# In a process group of its own (setsid), so that cleanup can stop it with all it started, and in the background,
# so that a signal to this script is handled at once.
setsid dotnet test "$repo_root/Milvus.sln" -c Release \
  --logger "trx;LogFileName=tests.trx" --logger "console;verbosity=normal" \
  --results-directory "$results_dir" "$@" </dev/null &
test_pid=$!
wait "$test_pid" || status=$?

# One closing line that any reader understands: N passed, N failed.
passed=0; failed=0; skipped=0
while IFS= read -r trx; do
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1 || true)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters"); f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  t=$(sed -n 's/.* total="\([0-9]*\)".*/\1/p' <<<"$counters"); e=$(sed -n 's/.* executed="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${t:-0} - ${e:-0}))
done < <(find "$results_dir" -name '*.trx')
if [ "$passed" -eq 0 ] && [ "$status" -eq 0 ]; then
  echo "No test ran." >&2
  status=1
fi
echo "Tests: $passed passed, $failed failed, $skipped skipped"
exit "$status"
