#!/usr/bin/env bash
# Produce through the gateway next to NATS JetStream and Redis Streams, on this machine, in one run:
# installs nats-server and redis-server from Debian's packages when missing, builds the Release gateway and the
# benchmarks, and prints the table (Milvus.Benchmarks/SideBySide/SideBySideDriver.cs). The driver starts each server
# as its own child process on a free 127.0.0.1 port and stops it at the end.
# Usage: scripts/side-by-side.sh [seconds per turn] [producers, comma-separated] [batches, comma-separated] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v nats-server >/dev/null 2>&1 || missing+=(nats-server)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
if [ ${#missing[@]} -gt 0 ]; then
  echo "[side-by-side] installing ${missing[*]} with apt-get" >&2
  as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi; }
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq </dev/null
  as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
fi

# The gateway runs with a 64 MiB gen 0, as docker-compose and `dotnet run` give it (see the README).
export DOTNET_GCgen0size="${DOTNET_GCgen0size:-0x4000000}"
dotnet build Milvus.Api -c Release -v quiet -nologo >/dev/null
dotnet build Milvus.Benchmarks -c Release -v quiet -nologo >/dev/null
exec dotnet Milvus.Benchmarks/bin/Release/net10.0/Milvus.Benchmarks.dll side-by-side "$@"
