#!/usr/bin/env bash
# Starts the services the gateway's store/limit tests run against: a PostgreSQL server (Debian
# `postgresql`) and a Redis server (Debian `redis-server`), installing them when missing.
# Source it:  . scripts/test-services.sh   — it exports OPENSCOPE_TEST_PG_URL and
# OPENSCOPE_TEST_REDIS_URL. Without them those tests skip, saying so.
# Safe to source from a `set -e` script: nothing here exits the caller; failures only skip tests.
need=()
command -v redis-server >/dev/null || need+=(redis-server)
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"; } >/dev/null 2>&1 ||
    echo "WARNING: could not install ${need[*]}: the PostgreSQL/Redis tests will be skipped" >&2
fi

REDIS_PORT="${OPENSCOPE_TEST_REDIS_PORT:-6391}"
if command -v redis-server >/dev/null; then
  if ! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes >/dev/null || echo "WARNING: redis-server did not start" >&2
    for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  fi
  redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && export OPENSCOPE_TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
fi

PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
PG_PORT="${OPENSCOPE_TEST_PG_PORT:-5433}"
PG_DATA="${OPENSCOPE_TEST_PG_DATA:-/tmp/openscope-test-pg}"
if [ -n "$PG_BIN" ]; then
  run_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }
  if [ ! -f "$PG_DATA/PG_VERSION" ]; then
    mkdir -p "$PG_DATA" && { [ "$(id -u)" != 0 ] || chown postgres "$PG_DATA"; }
    run_pg "'$PG_BIN/initdb' -D '$PG_DATA' -A trust -U openscope" >/dev/null || echo "WARNING: initdb failed" >&2
  fi
  if ! run_pg "'$PG_BIN/pg_ctl' -D '$PG_DATA' status" >/dev/null 2>&1; then
    run_pg "'$PG_BIN/pg_ctl' -D '$PG_DATA' -l '$PG_DATA/log' -o \"-p $PG_PORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off\" -w start" >/dev/null || echo "WARNING: PostgreSQL did not start" >&2
  fi
  if run_pg "'$PG_BIN/pg_ctl' -D '$PG_DATA' status" >/dev/null 2>&1; then
    export OPENSCOPE_TEST_PG_URL="postgres://openscope@127.0.0.1:$PG_PORT/postgres"
  fi
fi
echo "test services: PostgreSQL ${OPENSCOPE_TEST_PG_URL:-unavailable}, Redis ${OPENSCOPE_TEST_REDIS_URL:-unavailable}" >&2
