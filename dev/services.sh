#!/usr/bin/env bash
# Start PostgreSQL, MariaDB and RabbitMQ when they are installed but not running.
set -uo pipefail
log() { printf '==> %s\n' "$*" >&2; }
up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {
    for _ in $(seq 1 60); do up "$1" && return 0; sleep 0.5; done
    log "$2 did not come up on port $1"; return 1
}
if ! up 5432 && command -v pg_ctlcluster >/dev/null; then
    log "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
    wait_port 5432 PostgreSQL
fi
if ! up 3306 && [ -x /usr/sbin/mariadbd ]; then
    log "starting MariaDB"
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
    wait_port 3306 MariaDB
fi
if ! up 5672 && command -v rabbitmq-server >/dev/null; then
    log "starting RabbitMQ"
    rabbitmq-server -detached
    wait_port 5672 RabbitMQ
fi
exit 0
