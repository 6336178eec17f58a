#!/usr/bin/env bash
# Make sure the PostgreSQL and Redis the tests talk to are up on 127.0.0.1, starting whichever is
# down, then point DATABASE_URL and REDIS_URL at them.
#
#   scripts/ensure_services.sh CMD [ARGS...]   run CMD with DATABASE_URL and REDIS_URL exported
#   scripts/ensure_services.sh                 print `export ...` lines for eval
set -euo pipefail

PG_HOST=127.0.0.1
PG_PORT=5432
PG_DATABASE=test
REDIS_PORT=6379
REDIS_DB=15
WAIT_SECONDS=${SERVICES_WAIT_SECONDS:-30}

log() { echo "ensure_services: $*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is not installed ($2)"; }

pg_up() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" >/dev/null 2>&1; }
redis_up() { [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]; }

# wait_for NAME CHECK: poll CHECK once a second, WAIT_SECONDS times at most.
wait_for() {
    local name=$1 check=$2 i
    for ((i = 0; i < WAIT_SECONDS; i++)); do
        "$check" && return 0
        sleep 1
    done
    die "$name is still not answering after ${WAIT_SECONDS}s"
}

need pg_isready "Debian package postgresql-client"
need psql "Debian package postgresql-client"
need redis-cli "Debian package redis-tools"

if pg_up; then
    log "PostgreSQL is up on $PG_HOST:$PG_PORT"
else
    need pg_ctlcluster "Debian package postgresql; PostgreSQL is down on $PG_HOST:$PG_PORT"
    log "PostgreSQL is down on $PG_HOST:$PG_PORT; starting it"
    # shellcheck disable=SC2046  # one cluster version directory is expected here
    pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start >&2 ||
        log "pg_ctlcluster failed; waiting in case the cluster is starting anyway"
    wait_for PostgreSQL pg_up
    log "PostgreSQL started"
fi

if redis_up; then
    log "Redis is up on 127.0.0.1:$REDIS_PORT"
else
    need redis-server "Debian package redis-server; Redis is down on 127.0.0.1:$REDIS_PORT"
    log "Redis is down on 127.0.0.1:$REDIS_PORT; starting it"
    redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no >&2 ||
        log "redis-server failed; waiting in case it is starting anyway"
    wait_for Redis redis_up
    log "Redis started"
fi

db_user=""
for candidate in postgres root; do
    if psql -w -h "$PG_HOST" -p "$PG_PORT" -U "$candidate" -d "$PG_DATABASE" -tAc "select 1" >/dev/null 2>&1; then
        db_user=$candidate
        break
    fi
done
[ -n "$db_user" ] || die "neither user postgres nor root can connect to database '$PG_DATABASE' on $PG_HOST:$PG_PORT"
log "database user: $db_user"

export DATABASE_URL="postgres://$db_user@$PG_HOST:$PG_PORT/$PG_DATABASE"
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/$REDIS_DB"

if [ $# -gt 0 ]; then
    exec "$@"
fi
printf 'export DATABASE_URL=%q\nexport REDIS_URL=%q\n' "$DATABASE_URL" "$REDIS_URL"
