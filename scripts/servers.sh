#!/usr/bin/env bash
# Installs and runs the real servers the tests and benchmarks use: etcd, Redis, NATS with JetStream and s3rver
# (standing in for MinIO), each on a free 127.0.0.1 port with a throwaway data directory. Source this file, call
# `servers_install` and `servers_start`, and `servers_stop` when done (test.sh does it in an EXIT trap).
# Every server is started by this shell and stopped by its PID.

SERVERS_REPO_ROOT="${SERVERS_REPO_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
SERVERS_TOOLS_DIR="${SERVERS_TOOLS_DIR:-$SERVERS_REPO_ROOT/.test-servers}"
S3RVER_VERSION="3.7.1"
REDOCLY_VERSION="2.77.0"
SERVERS_PIDS=()

servers_log() { echo "[servers] $*" >&2; }

servers_as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}

servers_install() {
  local missing=()
  command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
  command -v etcdctl >/dev/null 2>&1 || missing+=(etcd-client)
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  # Debian installs nats-server in /usr/sbin, which a user's PATH may lack.
  command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || missing+=(nats-server)
  command -v node >/dev/null 2>&1 || missing+=(nodejs)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  if [ ${#missing[@]} -gt 0 ]; then
    servers_log "installing ${missing[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    servers_as_root apt-get update -qq </dev/null
    servers_as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
  fi
  local s3dir="$SERVERS_TOOLS_DIR/s3rver"
  # An install that was cut short (Ctrl-C during npm) lacks the entry point: it is installed again.
  if [ ! -f "$s3dir/node_modules/s3rver/package.json" ] || [ ! -f "$s3dir/node_modules/s3rver/bin/s3rver.js" ] || \
     ! grep -q "\"version\": \"$S3RVER_VERSION\"" "$s3dir/node_modules/s3rver/package.json"; then
    servers_log "installing s3rver@$S3RVER_VERSION with npm"
    mkdir -p "$s3dir"
    (cd "$s3dir" && npm install --no-audit --no-fund --silent --prefix "$s3dir" "s3rver@$S3RVER_VERSION" </dev/null >/dev/null)
  fi
  node "$SERVERS_REPO_ROOT/scripts/patch-s3rver.js" "$s3dir/node_modules/s3rver" >/dev/null
  # Redocly's linter, for the test that lints the OpenAPI document.
  local redoclydir="$SERVERS_TOOLS_DIR/redocly"
  if [ ! -f "$redoclydir/node_modules/@redocly/cli/bin/cli.js" ] || \
     ! grep -q "\"version\": \"$REDOCLY_VERSION\"" "$redoclydir/node_modules/@redocly/cli/package.json"; then
    servers_log "installing @redocly/cli@$REDOCLY_VERSION with npm"
    mkdir -p "$redoclydir"
    (cd "$redoclydir" && npm install --no-audit --no-fund --silent --prefix "$redoclydir" "@redocly/cli@$REDOCLY_VERSION" </dev/null >/dev/null)
  fi
  export MILVUS_TEST_REDOCLY_JS="$redoclydir/node_modules/@redocly/cli/bin/cli.js"
  # promtool, to check the /metrics text: taken out of Debian's prometheus package without installing it, so that no
  # Prometheus server gets started as a service.
  local promdir="$SERVERS_TOOLS_DIR/prometheus"
  if [ ! -x "$promdir/usr/bin/promtool" ]; then
    servers_log "fetching promtool from Debian's prometheus package"
    mkdir -p "$promdir"
    (cd "$promdir" && { apt-get download prometheus </dev/null >/dev/null 2>&1 \
       || { servers_as_root apt-get update -qq </dev/null && apt-get download prometheus </dev/null >/dev/null 2>&1; }; } \
       && dpkg-deb -x prometheus_*.deb . && rm -f prometheus_*.deb)
  fi
  export MILVUS_TEST_PROMTOOL="$promdir/usr/bin/promtool"
}

# Prints a TCP port that nothing listens on at 127.0.0.1, below the kernel's ephemeral range (32768-60999), so
# that no outgoing connection takes it before the server binds it (as Milvus.Tests' LoopbackPorts does).
servers_free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$(( (RANDOM % 12000) + 20000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  servers_log "no free port found"
  return 1
}

# Waits until the command succeeds, up to $1 seconds.
servers_wait() {
  local seconds=$1; shift
  local deadline=$(( $(date +%s) + seconds ))
  until "$@" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ]; then return 1; fi
    sleep 0.2
  done
}

servers_start() {
  SERVERS_DATA_DIR="$(mktemp -d "${TMPDIR:-/tmp}/milvus-test-servers.XXXXXX")"
  export SERVERS_DATA_DIR

  local etcd_port etcd_peer redis_port s3_port nats_port nats_bin
  etcd_port=$(servers_free_port); etcd_peer=$(servers_free_port)
  redis_port=$(servers_free_port); s3_port=$(servers_free_port); nats_port=$(servers_free_port)
  nats_bin="$(command -v nats-server || echo /usr/sbin/nats-server)"

  etcd --name milvus-test --data-dir "$SERVERS_DATA_DIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
    --initial-cluster "milvus-test=http://127.0.0.1:$etcd_peer" --log-level error \
    >"$SERVERS_DATA_DIR/etcd.log" 2>&1 </dev/null &
  SERVERS_PIDS+=($!)

  mkdir -p "$SERVERS_DATA_DIR/redis"
  redis-server --bind 127.0.0.1 --port "$redis_port" --dir "$SERVERS_DATA_DIR/redis" --save "" \
    --appendonly no --daemonize no --protected-mode yes \
    >"$SERVERS_DATA_DIR/redis.log" 2>&1 </dev/null &
  SERVERS_PIDS+=($!)

  # A produce call on the NATS queue is one JetStream message: 8 MiB as max_payload (the default is 1 MiB) lets the
  # benchmarks' batches of a thousand 1 KiB msgs through, as the README advises for large batches.
  mkdir -p "$SERVERS_DATA_DIR/nats"
  printf 'max_payload: 8MB\n' >"$SERVERS_DATA_DIR/nats.conf"
  "$nats_bin" -c "$SERVERS_DATA_DIR/nats.conf" -a 127.0.0.1 -p "$nats_port" -js -sd "$SERVERS_DATA_DIR/nats" \
    >"$SERVERS_DATA_DIR/nats.log" 2>&1 </dev/null &
  SERVERS_PIDS+=($!)

  mkdir -p "$SERVERS_DATA_DIR/s3"
  node "$SERVERS_TOOLS_DIR/s3rver/node_modules/s3rver/bin/s3rver.js" -d "$SERVERS_DATA_DIR/s3" \
    -a 127.0.0.1 -p "$s3_port" --silent --configure-bucket milvus-bucket \
    >"$SERVERS_DATA_DIR/s3rver.log" 2>&1 </dev/null &
  SERVERS_PIDS+=($!)

  export MILVUS_TEST_ETCD_ENDPOINTS="http://127.0.0.1:$etcd_port"
  export MILVUS_TEST_REDIS="127.0.0.1:$redis_port"
  export MILVUS_TEST_S3_ENDPOINT="127.0.0.1:$s3_port"
  export MILVUS_TEST_S3_ACCESS_KEY="S3RVER"
  export MILVUS_TEST_S3_SECRET_KEY="S3RVER"
  export MILVUS_TEST_S3_BUCKET="milvus-bucket"
  export MILVUS_TEST_ETCD_BIN="$(command -v etcd)"
  export MILVUS_TEST_REDIS_BIN="$(command -v redis-server)"
  export MILVUS_TEST_NATS="nats://127.0.0.1:$nats_port"
  export MILVUS_TEST_NATS_BIN="$nats_bin"
  export MILVUS_TEST_S3RVER_JS="$SERVERS_TOOLS_DIR/s3rver/node_modules/s3rver/bin/s3rver.js"

  servers_wait 30 etcdctl --endpoints "$MILVUS_TEST_ETCD_ENDPOINTS" endpoint health \
    || { servers_log "etcd did not start"; cat "$SERVERS_DATA_DIR/etcd.log" >&2; return 1; }
  servers_wait 30 bash -c "exec 3<>/dev/tcp/127.0.0.1/$redis_port && printf 'PING\r\n' >&3 && head -c 5 <&3 | grep -q PONG" \
    || { servers_log "redis did not start"; cat "$SERVERS_DATA_DIR/redis.log" >&2; return 1; }
  servers_wait 30 bash -c "exec 3<>/dev/tcp/127.0.0.1/$nats_port && head -c 4 <&3 | grep -q INFO" \
    || { servers_log "nats-server did not start"; cat "$SERVERS_DATA_DIR/nats.log" >&2; return 1; }
  servers_wait 30 curl -sf -o /dev/null "http://127.0.0.1:$s3_port/" \
    || { servers_log "s3rver did not start"; cat "$SERVERS_DATA_DIR/s3rver.log" >&2; return 1; }
  servers_log "etcd $MILVUS_TEST_ETCD_ENDPOINTS, redis $MILVUS_TEST_REDIS, nats $MILVUS_TEST_NATS, s3rver $MILVUS_TEST_S3_ENDPOINT"
}

servers_stop() {
  local pid
  for pid in "${SERVERS_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${SERVERS_PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  SERVERS_PIDS=()
  if [ -n "${SERVERS_DATA_DIR:-}" ] && [ -d "$SERVERS_DATA_DIR" ]; then rm -rf "$SERVERS_DATA_DIR"; fi
}
