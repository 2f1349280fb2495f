#!/usr/bin/env bash
# Install and start what a fresh machine lacks: Redis from Debian's packages and the machine's
# PostgreSQL cluster (role and database wedsync). Prints DATABASE_URL=... and REDIS_URL=... lines.
# Used by .ci/run and by the bench scripts when DATABASE_URL/REDIS_URL are not set. Needs root.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v wrk >/dev/null || missing+=(wrk)
if [[ "${WITH_BROWSER:-}" == 1 ]] && ! command -v chromium >/dev/null; then missing+=(chromium); fi
if ((${#missing[@]})); then
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

redis-cli -p 6379 ping >/dev/null 2>&1 ||
  redis-server --bind 127.0.0.1 --port 6379 --save '' --appendonly no --daemonize yes >&2
for _ in $(seq 50); do redis-cli -p 6379 ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p 6379 ping >/dev/null

version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
pg_lsclusters -h | grep -q "^$version main" || pg_createcluster "$version" main >/dev/null
pg_ctlcluster "$version" main start >/dev/null 2>&1 || true
port=$(pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" {print $3}')
for _ in $(seq 100); do pg_isready -q -h 127.0.0.1 -p "$port" && break; sleep 0.2; done
pg_isready -q -h 127.0.0.1 -p "$port"
as_postgres() { su postgres -c "$1"; }
as_postgres "psql -p $port -tAc \"SELECT 1 FROM pg_roles WHERE rolname = 'wedsync'\"" | grep -q 1 ||
  as_postgres "psql -p $port -qc \"CREATE ROLE wedsync LOGIN CREATEDB PASSWORD 'wedsync'\""
as_postgres "psql -p $port -tAc \"SELECT 1 FROM pg_database WHERE datname = 'wedsync'\"" | grep -q 1 ||
  as_postgres "createdb -p $port -O wedsync wedsync"

echo "DATABASE_URL=postgres://wedsync:wedsync@127.0.0.1:$port/wedsync"
echo "REDIS_URL=redis://127.0.0.1:6379/0"
