"""Fake DHCP agents that become ready by themselves: a thread confirms (networks_applied)
every network the chosen hosts are bound to, at its current revision, as a real agent does
once its dnsmasq serves it. For tests and benches of moves that must complete."""
from __future__ import annotations

import threading

from neutrino.agent_protocol.messages import NetworkApplied
from neutrino.transport.client import TransportError
from tests.support.fake_dhcp_hosts import FakeDhcpHosts

EVERY = 0.2


class AutoConfirm:
    def __init__(self, hosts: FakeDhcpHosts, every: float = EVERY) -> None:
        self.hosts = hosts
        self.every = every
        self._ready: set[str] = set()
        self._confirmed: dict[str, dict[str, int]] = {}  # host -> network -> revision sent
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def ready(self, host: str) -> None:
        """From now on `host` confirms whatever it is given."""
        with self._lock:
            self._ready.add(host)

    def _run(self) -> None:
        client = self.hosts.client
        while not self._stop.wait(self.every):
            with self._lock:
                ready = sorted(self._ready)
            for host in ready:
                sent = self._confirmed.setdefault(host, {})
                try:
                    refs = client.get_active_networks(host)
                    new = [NetworkApplied(network_id=r.id, revision_number=r.revision_number)
                           for r in refs if sent.get(r.id) != r.revision_number]
                    for start in range(0, len(new), 500):
                        client.networks_applied(host, new[start:start + 500])
                except TransportError:  # a server restarting: the next round reaches it
                    continue
                sent.update({n.network_id: n.revision_number for n in new})

    def __enter__(self) -> AutoConfirm:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(5)
