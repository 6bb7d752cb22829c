"""Tells the server, in batches, which network revisions this DHCP agent's dnsmasq serves.

The server holds a freed address back from new ports until every agent that may still lease
it to the old MAC has confirmed a revision that no longer has it (or tore the network down):
see docs/operations.md, "Address reuse". A confirmation that cannot be delivered is kept and
sent again once the server answers; a newer one for the same network replaces it, since it
says at least as much. What is pending is lost when the agent stops; the full sync at the
next start confirms every network again.
"""
from __future__ import annotations

import logging
import threading

from neutrino.agent.reachability import Channel
from neutrino.agent_protocol.messages import NetworkApplied
from neutrino.transport.client import AgentRefused, AgentServerClient, TransportError

LOG = logging.getLogger(__name__)

FIRST_RETRY = 0.5
# Short enough that quarantined addresses settle within seconds of the server returning.
MAX_RETRY = 2.0
# One call carries at most this many networks (about 90 bytes each on the wire: well
# below the server's max_request_body_size, 112 KiB by default).
BATCH_LIMIT = 500
# A full sync converges many networks at once: gather them into one call.
COALESCE = 0.05


class AppliedReporter:
    """`note` after each converge; a thread of its own delivers, so converges never wait."""

    def __init__(self, client: AgentServerClient, host: str,
                 channel: Channel | None = None) -> None:
        self.client = client
        self.host = host
        # The agent's shared view of the server: failures are logged once there, with the
        # heartbeat's and the event stream's, and a success anywhere ends our retry wait.
        self.channel = channel
        self.delivered = 0  # confirmations the server accepted, for tests and logs
        self.failed_sends = 0
        self._pending: dict[str, NetworkApplied] = {}
        self._cond = threading.Condition()
        self._wake = threading.Event()  # cuts a retry wait short (kick, stop)
        self._stopped = threading.Event()
        self._failing = False
        self._thread: threading.Thread | None = None

    def note(self, network_id: str, revision_number: int, serving: bool) -> None:
        """Queue the confirmation that the network is applied at this revision (or gone)."""
        item = NetworkApplied(network_id=network_id, revision_number=revision_number,
                              serving=serving)
        with self._cond:
            self._pending[network_id] = item
            self._cond.notify_all()

    def pending(self) -> list[NetworkApplied]:
        with self._cond:
            return list(self._pending.values())

    def kick(self) -> None:
        """Retry now: the caller just reached the server (an event stream reconnected)."""
        self._wake.set()

    def send_once(self) -> bool:
        """Deliver up to BATCH_LIMIT pending confirmations; False if the server is away."""
        with self._cond:
            batch = list(self._pending.values())[:BATCH_LIMIT]
        if not batch:
            return True
        try:
            if self.channel is None:
                self.client.networks_applied(self.host, batch)
            else:
                with self.channel.attempt(passthrough=(AgentRefused,)) as call:
                    self.client.networks_applied(self.host, batch)
                if not call.ok:
                    self.failed_sends += 1
                    return False
        except TransportError as exc:
            self.failed_sends += 1
            if not self._failing:
                LOG.warning("%d network confirmations not delivered, kept for later: %s",
                            len(batch), exc)
            self._failing = True
            return False
        except AgentRefused as exc:
            # Retrying cannot help (an older server without the call, bad credentials);
            # the server's quarantine then ends by time alone.
            LOG.error("server refused %d network confirmations, dropped: %s", len(batch), exc)
            self._forget(batch)
            return True
        if self._failing:
            LOG.info("network confirmations delivered again (%d)", len(batch))
        self._failing = False
        self._forget(batch)
        self.delivered += len(batch)
        return True

    def _forget(self, batch: list[NetworkApplied]) -> None:
        with self._cond:
            for item in batch:
                # Only what was sent: a newer note for the network made meanwhile stays.
                if self._pending.get(item.network_id) is item:
                    del self._pending[item.network_id]

    def _run(self) -> None:
        delay = FIRST_RETRY
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending or self._stopped.is_set())
            if self._stopped.wait(COALESCE):
                return
            try:
                delivered = self.send_once()
            except Exception:  # the reporter must outlive a bug; log with context, go on
                LOG.exception("sending network confirmations failed")
                delivered = False
            if delivered:
                delay = FIRST_RETRY
                continue
            if self.channel is not None:
                self.channel.wait(self._stopped)
                continue
            self._wake.wait(delay)
            self._wake.clear()
            delay = min(delay * 2, MAX_RETRY)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="applied-reporter",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopped.set()
            self._cond.notify_all()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=15)
