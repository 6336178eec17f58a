#!/bin/sh
# Container entry point: web | worker | beat | migrate | healthcheck | manage ARGS... | any command.
set -eu

is_true() {
    case "$(printf '%s' "${1:-}" | tr '[:upper:]' '[:lower:]')" in
        1 | true | yes | on) return 0 ;;
        *) return 1 ;;
    esac
}

loglevel="$(printf '%s' "${LOG_LEVEL:-INFO}" | tr '[:lower:]' '[:upper:]')"
command="${1:-web}"
[ $# -gt 0 ] && shift

case "$command" in
    web)
        if is_true "${RUN_MIGRATIONS:-false}"; then
            python manage.py migrate --noinput
        fi
        # --proxy-headers: the client address and scheme come from nginx's X-Forwarded-* headers.
        exec uvicorn requesty.asgi:application \
            --host 0.0.0.0 --port "${PORT:-8000}" \
            --workers "${WEB_CONCURRENCY:-2}" \
            --loop uvloop --http httptools \
            --proxy-headers --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-*}" \
            --lifespan on --timeout-keep-alive 75 --no-server-header "$@"
        ;;
    worker)
        exec celery -A requesty worker --loglevel "$loglevel" \
            --concurrency "${CELERY_WORKER_CONCURRENCY:-2}" "$@"
        ;;
    beat)
        exec celery -A requesty beat --loglevel "$loglevel" \
            --schedule /app/var/celerybeat-schedule "$@"
        ;;
    migrate)
        exec python manage.py migrate --noinput "$@"
        ;;
    healthcheck)
        # Ask /healthz with a Host header Django accepts: the first ALLOWED_HOSTS entry.
        exec python - <<'PY'
import os, sys, urllib.request
host = os.environ.get("ALLOWED_HOSTS", "127.0.0.1").split(",")[0].strip().lstrip(".")
host = "localhost" if host in {"", "*"} else host
req = urllib.request.Request(f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/healthz", headers={"Host": host})
sys.exit(0 if urllib.request.urlopen(req, timeout=3).status == 200 else 1)
PY
        ;;
    manage)
        exec python manage.py "$@"
        ;;
    *)
        exec "$command" "$@"
        ;;
esac
