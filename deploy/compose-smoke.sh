#!/usr/bin/env bash
# make compose-smoke: start docker-compose.yaml (without the apply profile)
# under a project of its own, check that NATS runs JetStream, that ingest
# stores a signed webhook (2xx) and refuses a mis-signed one (401), that
# render consumed the push and drift and the dashboard are connected; then
# tear everything down with `docker-compose down -v` (or `docker compose`).
# Needs `make images`.
set -euo pipefail
cd "$(dirname "$0")/.."

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
project="ferry-smoke-$$"
tmp=$(mktemp -d)
export FERRY_GITHUB_SECRET=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
export FERRY_PLATFORM_REPO=https://git.invalid/smoke/apps.git # the smoke push names it
export FERRY_INGEST_PORT=$(free_port) FERRY_DASHBOARD_PORT=$(free_port) FERRY_SMOKE_MONITOR_PORT=$(free_port)
if command -v docker-compose >/dev/null; then dc=(docker-compose); else dc=(docker compose); fi
compose=("${dc[@]}" -p "$project" -f docker-compose.yaml -f deploy/compose-smoke.yaml)

cleanup() {
  code=$?
  if [ $code -ne 0 ]; then "${compose[@]}" logs --no-color --tail 30 || true; fi
  "${compose[@]}" down -v --remove-orphans || true
  rm -rf "$tmp"
  exit $code
}
trap cleanup EXIT

# wait_for URL PATTERN: poll URL until its body matches PATTERN (60 s).
wait_for() {
  for _ in $(seq 120); do
    if curl -fsS "$1" 2>/dev/null | grep -q "$2"; then return 0; fi
    sleep 0.5
  done
  echo "compose-smoke: $1 never matched $2" >&2
  curl -sS "$1" >&2 || true
  return 1
}

go build -o bin/ferry ./services/ferry # ferry notify sends webhooks as a Git host does (pkg/pushhook)
# Fresh NATS identities for this run: a seed per service, the users file.
bin/ferry nkeys --out "$tmp/nkeys" --for-containers local
export FERRY_NKEYS="$tmp/nkeys"
"${compose[@]}" up -d
mon="http://127.0.0.1:$FERRY_SMOKE_MONITOR_PORT"
ingest="http://127.0.0.1:$FERRY_INGEST_PORT"

wait_for "$mon/healthz" '"ok"'
wait_for "$mon/jsz" '"config"'                      # JetStream is enabled
echo "compose-smoke: nats up with JetStream"
wait_for "$ingest/readyz" '"ready"'
echo "compose-smoke: ingest ready"

printf '%s\n' "$FERRY_GITHUB_SECRET" > "$tmp/secret"
sha=$(od -An -tx1 -N20 /dev/urandom | tr -d ' \n')
echo "0000000000000000000000000000000000000000 $sha refs/heads/main" |
  bin/ferry notify --url "$ingest/webhooks/github" --secret-file "$tmp/secret" \
    --clone-url https://git.invalid/smoke/apps.git # fails unless ingest answers 2xx
echo wrong > "$tmp/wrong"
if echo "0000000000000000000000000000000000000000 $sha refs/heads/main" |
  bin/ferry notify --url "$ingest/webhooks/github" --secret-file "$tmp/wrong" --clone-url https://git.invalid/smoke/apps.git 2>"$tmp/err"; then
  echo "compose-smoke: a mis-signed webhook was accepted" >&2
  exit 1
fi
grep -q 401 "$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
echo "compose-smoke: mis-signed webhook refused: $(cat "$tmp/err")"

for c in ferry-ingest ferry-render ferry-drift ferry-dashboard; do
  wait_for "$mon/connz" "\"name\": \"$c\""
done
echo "compose-smoke: ingest, render, drift and dashboard connected to NATS"
# The push is stored once in FERRY_GIT and render's durable consumer took it
# (its fetch of git.invalid then fails and is retried, as designed).
check_render() {
  curl -fsS "$mon/jsz?accounts=true&streams=true&consumers=true" | python3 -c '
import json, sys
jsz = json.load(sys.stdin)
for acc in jsz.get("account_details", []):
    for st in acc.get("stream_detail", []):
        if st["name"] != "FERRY_GIT":
            continue
        msgs = st["state"]["messages"]
        for c in st.get("consumer_detail", []):
            if c["name"] == "render" and msgs == 1 and c["delivered"]["stream_seq"] >= 1:
                print("compose-smoke: FERRY_GIT holds %d push; consumer render delivered up to seq %d" % (msgs, c["delivered"]["stream_seq"]))
                sys.exit(0)
sys.exit(1)'
}
for _ in $(seq 60); do check_render && break; sleep 0.5; done
check_render >/dev/null
"${compose[@]}" logs --no-color render | grep -m1 -i 'fetch\|git.invalid' || true
# Every service logged in as its own identity and was denied nothing.
if "${compose[@]}" logs --no-color | grep -E "nats refused|nats denied"; then
  echo "compose-smoke: a service's NATS identity was refused" >&2
  exit 1
fi
echo "compose-smoke: every service on its own NATS identity, nothing denied"
echo "compose-smoke: ok"
