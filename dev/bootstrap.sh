# Sourced by dev/aio and dev/test: the venv with Neutrino, and (as root) the Debian packages
# the data plane needs. Idempotent and quiet when everything is already there.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3}"

log() { printf '==> %s\n' "$*" >&2; }

install_debian_packages() {
    [ "$(id -u)" = 0 ] || { log "not root: skipping Debian packages (dnsmasq-base, dnsmasq-utils, udhcpc, isc-dhcp-client, chromium, chromium-driver)"; return 0; }
    command -v apt-get >/dev/null || return 0
    local missing=()
    command -v dnsmasq >/dev/null || missing+=(dnsmasq-base)
    # dhcp_release: the DHCP agent drops a freed address's old lease without a restart.
    command -v dhcp_release >/dev/null || missing+=(dnsmasq-utils)
    command -v udhcpc >/dev/null || missing+=(udhcpc)
    # dhclient -6: the real DHCPv6 client of the IPv6 end-to-end tests (stateful and -S).
    command -v dhclient >/dev/null || missing+=(isc-dhcp-client)
    command -v ip >/dev/null || missing+=(iproute2)
    command -v bridge >/dev/null || missing+=(iproute2)
    # Headless Chromium and its WebDriver: the dashboard's browser test (docs/dashboard.md).
    # Without recommends: a browser to drive, not a desktop.
    local browser=()
    command -v chromium >/dev/null || browser+=(chromium)
    command -v chromedriver >/dev/null || browser+=(chromium-driver)
    if [ "${#missing[@]}" -gt 0 ] || [ "${#browser[@]}" -gt 0 ]; then
        log "installing Debian packages: ${missing[*]} ${browser[*]}"
        apt-get update -qq
    fi
    if [ "${#missing[@]}" -gt 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    if [ "${#browser[@]}" -gt 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${browser[@]}" >/dev/null
    fi
}

install_venv() {
    local stamp="$VENV/.neutrino-installed"
    if [ ! -x "$VENV/bin/python" ]; then
        log "creating virtualenv $VENV"
        "$PY" -m venv "$VENV"
    fi
    if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ]; then
        log "installing Neutrino and its Python packages into $VENV"
        # Some machines' pip configs name local mirrors that do not exist; pip warns for
        # each package. Those lines say nothing about this install.
        "$VENV/bin/pip" install -q --disable-pip-version-check -e "$ROOT[test]" \
            2> >(grep -v "^WARNING: Location 'file:" >&2)
        touch "$stamp"
    fi
}

install_debian_packages
install_venv
export PATH="$VENV/bin:$PATH"
