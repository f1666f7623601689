#!/usr/bin/env bash
# Makes sure Postgres and Redis answer on the URLs LinkFlow uses. Starts local installs
# that are stopped; where none is installed and a Docker engine runs, uses docker compose.
set -euo pipefail
PGHOST_=${PGHOST_:-127.0.0.1}
REDIS_HOST_=${REDIS_HOST_:-127.0.0.1}

pg_up() { pg_isready -q -h "$PGHOST_" -p 5432 2>/dev/null; }
redis_up() { [ "$(redis-cli -h "$REDIS_HOST_" -p 6379 ping 2>/dev/null)" = "PONG" ]; }
docker_ok() { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }

wait_for() { # name check
  for _ in $(seq 1 50); do "$2" && return 0; sleep 0.2; done
  echo "$1 did not come up" >&2; return 1
}

if ! pg_up; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    echo "starting local PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  elif docker_ok; then
    docker compose -f docker/compose.yaml up -d postgres
  else
    echo "PostgreSQL is not running and neither a local install nor Docker was found" >&2; exit 1
  fi
  wait_for PostgreSQL pg_up
fi

if ! redis_up; then
  if command -v redis-server >/dev/null 2>&1; then
    echo "starting local Redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no --maxmemory-policy noeviction
  elif docker_ok; then
    docker compose -f docker/compose.yaml up -d redis
  else
    echo "Redis is not running and neither a local install nor Docker was found" >&2; exit 1
  fi
  wait_for Redis redis_up
fi
# BullMQ needs noeviction; a shared Redis may have another policy.
redis-cli -h "$REDIS_HOST_" -p 6379 config set maxmemory-policy noeviction >/dev/null 2>&1 || true
echo "postgres and redis are up"
