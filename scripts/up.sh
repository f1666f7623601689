#!/usr/bin/env bash
# `make up`: start the API and one executor in the background (logs and pids in .run/),
# wait until the API is ready, and print a development admin key.
set -euo pipefail
mkdir -p .run
port=${API_PORT:-8084}
export DATABASE_URL=${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/linkflow}
# Demo default: `db` nodes may use the connection "main": a least-privileged role
# (linkflow_demo) on its own database (linkflow_demo, one `orders` table), never LinkFlow's own
# database or a superuser. scripts/demo-db.ts creates or repairs both (idempotent).
if [ -z "${LINKFLOW_DB_CONNECTIONS:-}" ]; then
  demo_url=$(npx tsx scripts/demo-db.ts | tail -n 1)
  export LINKFLOW_DB_CONNECTIONS="{\"main\": \"${demo_url}\"}"
fi
# Credentials need an AES-256 key (LINKFLOW_SECRETS_KEY). Without one, a development key is
# generated once into .run/ (git-ignored) and kept for later runs; both processes get it.
if [ -z "${LINKFLOW_SECRETS_KEY:-}" ] && [ -z "${LINKFLOW_SECRETS_KEY_FILE:-}" ]; then
  if [ ! -s .run/secrets.key ]; then
    (umask 077; node -e "process.stdout.write(require('node:crypto').randomBytes(32).toString('base64'))" >.run/secrets.key)
    echo "generated a development credentials key in .run/secrets.key (set LINKFLOW_SECRETS_KEY in production)"
  else
    echo "using the development credentials key in .run/secrets.key"
  fi
  export LINKFLOW_SECRETS_KEY_FILE="$PWD/.run/secrets.key"
fi
start() { # name node-flags
  if [ -f ".run/$1.pid" ] && kill -0 "$(cat ".run/$1.pid")" 2>/dev/null; then
    echo "$1 already running (pid $(cat ".run/$1.pid"))"; return
  fi
  # node directly (not npx): SIGTERM must reach the app for a graceful shutdown.
  # instrumentation.ts starts OpenTelemetry before the app's modules load (README, "Traces").
  nohup node $2 --import tsx --import "./apps/$1/src/instrumentation.ts" "apps/$1/src/main.ts" \
    >".run/$1.log" 2>&1 &
  echo $! >".run/$1.pid"
  echo "started $1 (pid $!, log .run/$1.log)"
}
start api ""
# A heap budget makes V8 collect before RSS balloons on large payloads (see README).
start executor "--max-old-space-size=${EXECUTOR_HEAP_MB:-384}"
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$port/health/ready" >/dev/null || { echo "API did not become ready; see .run/api.log" >&2; tail -20 .run/api.log >&2; exit 1; }
echo "API ready on http://localhost:$port (docs: http://localhost:$port/docs)"
echo "development admin key (tenant dev):"
TENANT=dev SCOPES=admin npx tsx scripts/create-key.ts | tail -n 1
