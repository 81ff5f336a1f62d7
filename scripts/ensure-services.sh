#!/usr/bin/env bash
# Find (and on CI machines of this kind, start) the real PostgreSQL and Redis, and write
# reports/services.env with DATABASE_URL / REDIS_URL for the real-services test pass.
#
# The servers probed are the ones DATABASE_URL and REDIS_URL name (defaults: the local
# 127.0.0.1:5432 and 127.0.0.1:6379); local servers are only started for those defaults, so a
# URL elsewhere is never "fixed" by starting something it does not point at.
# PARITY_SERVICES_ENV: the file to write (default reports/services.env).
# Sourced (tests), it only defines the functions.
set -uo pipefail

DEFAULT_DB_URL="postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL="redis://127.0.0.1:6379/0"

# URL with the password (userinfo or a password= query parameter) replaced by ***; up to the
# last @, so an unencoded @ or / in a password cannot leave a piece of it showing.
mask_url() {
  printf %s "$1" | sed -E -e 's#^([^:/]+://[^:@/]*):.*@#\1:***@#' \
    -e 's#([?&]password=)[^&]*#\1***#'
}

# "host port" of scheme://[user[:password]@]host[:port][/path][?query]; IPv6 as [::1].
# No port: $2. No host (libpq's "local socket" form): 127.0.0.1, the nearest TCP probe.
parse_host_port() {
  local url=$1 default_port=$2 authority host port
  authority=${url#*://}
  authority=${authority%%[/?#]*}
  authority=${authority##*@}  # the last @: an unencoded @ in a password stays in userinfo
  if [[ $authority == \[* ]]; then
    host=${authority#\[}
    host=${host%%\]*}
    port=${authority#*\]}
    port=${port#:}
  elif [[ $authority == *:* ]]; then
    host=${authority%:*}
    port=${authority##*:}
  else
    host=$authority
    port=
  fi
  host=${host:-127.0.0.1}
  port=${port:-$default_port}
  [[ $port =~ ^[0-9]+$ ]] || return 1
  printf '%s %s\n' "$host" "$port"
}

# The local server this script may start: 127.0.0.1 / localhost on the default port.
is_local_default() {
  [[ ($1 == 127.0.0.1 || $1 == localhost) && $2 == "$3" ]]
}

# host:port as written in a URL ([::1]:6379 for IPv6).
endpoint() {
  if [[ $1 == *:* ]]; then printf '[%s]:%s' "$1" "$2"; else printf '%s:%s' "$1" "$2"; fi
}

# TCP connect, bounded: an address that drops packets must not hang the pass for minutes.
port_open() {
  timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null
}

# Up to 5 s for a server just started (redis-server --daemonize returns before it listens).
wait_port() {
  local _
  for _ in $(seq 50); do
    port_open "$1" "$2" && return 0
    sleep 0.1
  done
  return 1
}

main() {
  local db_url redis_url db_host db_port redis_host redis_port out safe_db safe_redis where
  local -a problems=()
  db_url="${DATABASE_URL:-$DEFAULT_DB_URL}"
  redis_url="${REDIS_URL:-$DEFAULT_REDIS_URL}"
  safe_db=$(mask_url "$db_url")
  safe_redis=$(mask_url "$redis_url")

  if [[ ! $db_url =~ ^postgres(ql)?(\+[a-z0-9]+)?:// ]] ||
    ! read -r db_host db_port < <(parse_host_port "$db_url" 5432); then
    problems+=("DATABASE_URL=$safe_db is not a PostgreSQL URL (postgresql://user@host:5432/db).")
  fi
  if [[ ! $redis_url =~ ^rediss?:// ]] ||
    ! read -r redis_host redis_port < <(parse_host_port "$redis_url" 6379); then
    problems+=("REDIS_URL=$safe_redis is not a Redis URL (redis://host:6379/0).")
  fi
  if [ ${#problems[@]} -gt 0 ]; then
    printf 'real-services pass: %s\n' "${problems[@]}" >&2
    exit 2
  fi

  if ! port_open "$db_host" "$db_port" && is_local_default "$db_host" "$db_port" 5432 &&
    command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
    wait_port "$db_host" "$db_port"
  fi
  if ! port_open "$redis_host" "$redis_port" &&
    is_local_default "$redis_host" "$redis_port" 6379 && command -v redis-server >/dev/null; then
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
      --dir /tmp --logfile /tmp/redis-parity.log || true
    wait_port "$redis_host" "$redis_port"
  fi

  if ! port_open "$db_host" "$db_port"; then
    where=$(endpoint "$db_host" "$db_port")
    problems+=("nothing listens at $where, the PostgreSQL of DATABASE_URL=$safe_db.")
  fi
  if ! port_open "$redis_host" "$redis_port"; then
    where=$(endpoint "$redis_host" "$redis_port")
    problems+=("nothing listens at $where, the Redis of REDIS_URL=$safe_redis.")
  fi
  if [ ${#problems[@]} -gt 0 ]; then
    printf 'real-services pass: %s\n' "${problems[@]}" >&2
    echo "Fix: start the server named above, or point DATABASE_URL / REDIS_URL at reachable ones" \
      "(unset, they mean $DEFAULT_DB_URL and $DEFAULT_REDIS_URL), or run" \
      "'make test-embedded' alone." >&2
    exit 1
  fi

  out="${PARITY_SERVICES_ENV:-reports/services.env}"
  mkdir -p "$(dirname "$out")"
  printf 'DATABASE_URL=%s\nREDIS_URL=%s\n' "$db_url" "$redis_url" >"$out"
  echo "real-services pass: DATABASE_URL=$safe_db REDIS_URL=$safe_redis"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  main "$@"
fi
