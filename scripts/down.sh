#!/usr/bin/env bash
# `make down`: stop what `make up` started (Postgres and Redis are left running).
set -u
for name in executor api; do
  if [ -f ".run/$name.pid" ]; then
    pid=$(cat ".run/$name.pid")
    kill -TERM "$pid" 2>/dev/null && echo "stopping $name ($pid)"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    rm -f ".run/$name.pid"
  fi
done
