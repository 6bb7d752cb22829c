#!/usr/bin/env bash
# Upstream Neutron 29 as the side-by-side benchmark's peer: its own virtualenv (from PyPI,
# with uwsgi and PyMySQL, which Neutron does not pull in itself), a MariaDB database and the
# configuration files bench/side_by_side.py starts it with. Idempotent: a second run only
# rewrites the configuration and migrates an empty database.
#
#   bench/peer/neutron_setup.sh PEER_DIR API_PORT
#
# Nothing of Neutron is kept in this repository; it is installed here for measuring.
set -euo pipefail
PEER_DIR="${1:?usage: neutron_setup.sh PEER_DIR API_PORT}"
API_PORT="${2:?usage: neutron_setup.sh PEER_DIR API_PORT}"
DB_NAME="${NEUTRON_PEER_DB:-neutron_peer}"
RABBIT="${NEUTRON_PEER_RABBIT:-rabbit://guest:guest@127.0.0.1:5672/}"
VENV="$PEER_DIR/venv"
log() { printf '==> %s\n' "$*" >&2; }

mkdir -p "$PEER_DIR/state/lock" "$PEER_DIR/log"
if [ ! -x "$VENV/bin/neutron-rpc-server" ] || [ ! -x "$VENV/bin/uwsgi" ]; then
    log "installing neutron==29.0.0, uwsgi and PyMySQL into $VENV (a few minutes: uwsgi compiles)"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check neutron==29.0.0 uwsgi PyMySQL \
        2> >(grep -v "^WARNING: Location 'file:" >&2)
fi

cat > "$PEER_DIR/neutron.conf" <<CONF
[DEFAULT]
core_plugin = ml2
service_plugins =
auth_strategy = noauth
transport_url = $RABBIT
state_path = $PEER_DIR/state
api_workers = 2
rpc_workers = 1
rpc_state_report_workers = 1
dhcp_agents_per_network = 2
agent_down_time = 75
network_auto_schedule = True
notify_nova_on_port_status_changes = False
notify_nova_on_port_data_changes = False
log_dir = $PEER_DIR/log
# The API pipeline pip installs with Neutron (the API looks for it beside the config).
api_paste_config = $VENV/etc/neutron/api-paste.ini

[database]
connection = mysql+pymysql://root@127.0.0.1:3306/$DB_NAME

[ml2]
type_drivers = vlan,flat
tenant_network_types = vlan
mechanism_drivers = openvswitch

[ml2_type_vlan]
network_vlan_ranges = physnet1:1000:2999

[quotas]
quota_network = -1
quota_subnet = -1
quota_port = -1

[oslo_concurrency]
lock_path = $PEER_DIR/state/lock
CONF

# The API: Neutron 29 is a WSGI application only; two processes, one thread each, as the
# benchmark's Neutrino gets two API workers. Connection: close because keep-alive through
# uwsgi's http-socket reset connections under the benchmark's clients.
cat > "$PEER_DIR/uwsgi.ini" <<INI
[uwsgi]
http-socket = 127.0.0.1:$API_PORT
module = neutron.wsgi.api:application
processes = 2
threads = 1
master = true
lazy-apps = true
die-on-term = true
add-header = Connection: close
env = OS_NEUTRON_CONFIG_DIR=$PEER_DIR
env = OS_NEUTRON_CONFIG_FILES=neutron.conf
logto = $PEER_DIR/log/uwsgi.log
INI

log "fresh MariaDB database $DB_NAME"
mariadb -uroot -h127.0.0.1 -e "DROP DATABASE IF EXISTS $DB_NAME; CREATE DATABASE $DB_NAME"
"$VENV/bin/neutron-db-manage" --config-file "$PEER_DIR/neutron.conf" upgrade heads \
    > "$PEER_DIR/log/db-manage.log" 2>&1
log "neutron 29 ready in $PEER_DIR (API port $API_PORT)"
