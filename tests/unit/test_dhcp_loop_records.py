"""The checks the fault tests run over the VMs' DHCP answers (tests/support/dhcp_loops.py)."""
from __future__ import annotations

from tests.support.dhcp_loops import Answer, failed_requests, first_lease, shared_addresses

MAC1, MAC2 = "fa:16:3e:00:00:01", "fa:16:3e:00:00:02"


def answer(start: float, ip: str | None, mac: str = MAC1, took: float = 0.1) -> Answer:
    return Answer("vm", mac, start, start + took, ip, "10.0.0.2" if ip else None)


def test_requests_before_the_first_lease_do_not_count_as_failed() -> None:
    answers = [answer(0, None, took=3), answer(3, "10.0.0.3"), answer(4, None, took=3)]
    assert failed_requests(answers, since=0, until=10) == [answers[2]]


def test_a_vm_never_served_fails_every_request_of_the_window() -> None:
    answers = [answer(t, None, took=3) for t in (0, 3, 6, 9)]
    assert failed_requests(answers, since=2, until=7) == answers[1:3]


def test_requests_after_the_port_was_deleted_do_not_count() -> None:
    answers = [answer(0, "10.0.0.3"), answer(1, None, took=3), answer(5, None, took=3)]
    assert failed_requests(answers, since=0, until=10, port_gone_at=3.5) == []
    assert failed_requests(answers, since=0, until=10, port_gone_at=4.5) == [answers[1]]


def test_the_window_bounds_the_count() -> None:
    answers = [answer(0, "10.0.0.3"), answer(1, None, took=3), answer(5, None, took=3)]
    assert failed_requests(answers, since=4, until=10) == [answers[2]]


def test_first_lease_is_the_earliest_answer_with_an_address() -> None:
    answers = [answer(0, None, took=3), answer(5, "10.0.0.3", took=0.5),
               answer(4, "10.0.0.3", took=2)]
    assert first_lease(answers) == answers[1]
    assert first_lease(answers[:1]) is None


def test_an_address_served_to_two_macs_is_reported() -> None:
    answers = [answer(0, "10.0.0.3"), answer(1, "10.0.0.3", MAC2), answer(2, "10.0.0.4", MAC2),
               answer(3, None, MAC1)]
    assert shared_addresses(answers) == {"10.0.0.3": {MAC1, MAC2}}
    assert shared_addresses(answers[2:]) == {}
