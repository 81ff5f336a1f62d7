#!/usr/bin/env bash
# Find (and on CI machines of this kind, start) the real PostgreSQL and Redis, and write
# reports/services.env with DATABASE_URL / REDIS_URL for the real-services test pass.
set -uo pipefail
mkdir -p reports
db_url="${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test}"
redis_url="${REDIS_URL:-redis://127.0.0.1:6379/0}"

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

if ! port_open 127.0.0.1 5432 && command -v pg_ctlcluster >/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
fi
if ! port_open 127.0.0.1 6379 && command -v redis-server >/dev/null; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /tmp --logfile /tmp/redis-parity.log || true
fi
sleep 0.5
missing=()
port_open 127.0.0.1 5432 || missing+=("PostgreSQL at 127.0.0.1:5432")
port_open 127.0.0.1 6379 || missing+=("Redis at 127.0.0.1:6379")
if [ ${#missing[@]} -gt 0 ]; then
  echo "real-services pass: cannot reach ${missing[*]}." >&2
  echo "Set DATABASE_URL / REDIS_URL to reachable servers, or run 'make test-embedded' alone." >&2
  exit 1
fi
printf 'DATABASE_URL=%s\nREDIS_URL=%s\n' "$db_url" "$redis_url" > reports/services.env
safe_db=$(printf %s "$db_url" | sed -E 's#//[^@/]*@#//***@#')
safe_redis=$(printf %s "$redis_url" | sed -E 's#//[^@/]*@#//***@#')
echo "real-services pass: DATABASE_URL=$safe_db REDIS_URL=$safe_redis"
