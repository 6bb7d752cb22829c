"""schemathesis drives every operation of the served OpenAPI document with an admin token:
no answer is a 5xx. Real server on loopback, PostgreSQL (where NUL and column lengths bite).

Bounded: at most EXAMPLES generated cases per operation in the fuzzing phase, plus the
coverage phase's edge cases; fixed seed, one worker. 49 operations, about 3,800 requests; the
test with its server and database 65-82 s here beside eight other busy processes.
Path ids name real resources so that bodies reach the services, not just a 404; DELETEs get
their own throwaway resources so the others stay for the rest of the run.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.agents import agent_client, l2_state, register
from tests.support.databases import fresh_database
from tests.support.server import USERS, RunningServer, running_server, settings_for

EXAMPLES = 10
SEED = 20261201


def _worth_reading(out: str) -> str:
    """The report's ERRORS and FAILURES sections first (their details sit far above the
    summary, beyond any tail of a 3,000-case run), then the summary."""
    lines = out.splitlines()
    starts = [i for i, line in enumerate(lines)
              if line.startswith("=") and ("ERRORS" in line or "FAILURES" in line)]
    summary = next((i for i, line in enumerate(lines)
                    if line.startswith("=") and "SUMMARY" in line), len(lines))
    details = "\n".join(lines[starts[0]:summary])[:8000] if starts else ""
    return details + "\n...\n" + "\n".join(lines[summary:])[-4000:]


def _st() -> str:
    found = shutil.which("st") or str(Path(sys.executable).with_name("st"))
    if not Path(found).exists():
        pytest.fail("schemathesis is not installed: pip install -e .[test]")
    return found


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    tmp = str(tmp_path_factory.mktemp("schemathesis"))
    with fresh_database("postgresql", tmp) as url, \
            running_server(settings_for(url, tmp)) as srv:
        yield srv


def _made(response: httpx.Response, key: str) -> str:
    assert response.status_code == 201, response.text
    return str(response.json()[key]["id"])


def _world(server: RunningServer) -> dict[str, str]:
    """Resources for the path parameters: some kept, some for DELETE to take."""
    agents = agent_client(server)
    _, dhcp = register(agents, "st-host")
    spare = agents.report_state(l2_state("st-spare", start=True))
    ids = {"dhcp_agent": dhcp.agent_id, "spare_agent": spare.agent_id}
    with server.client() as c:
        for role in ("kept", "doomed"):
            net = _made(c.post("/v2.0/networks", json={"network": {"name": f"st-{role}"}}),
                        "network")
            cidr = "10.77.0.0/24" if role == "kept" else "10.78.0.0/24"
            subnet = _made(c.post("/v2.0/subnets", json={"subnet": {
                "network_id": net, "cidr": cidr}}), "subnet")
            port = _made(c.post("/v2.0/ports", json={"port": {"network_id": net}}), "port")
            ids.update({f"{role}_network": net, f"{role}_subnet": subnet,
                        f"{role}_port": port})
    return ids


def _config(ids: dict[str, str], token: str, throwaway: str) -> str:
    """schemathesis.toml: fixed values for path and query parameters that name things."""
    def operation(path: str, method_regex: str, **parameters: Any) -> str:
        params = ", ".join(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in parameters.items())
        return (f"[[operations]]\ninclude-path = {json.dumps(path)}\n"
                f"include-method-regex = {json.dumps(method_regex)}\n"
                f"parameters = {{ {params} }}\n\n")

    text = ("[parameters]\n"
            f'host = "st-host"\nnetwork_id = "{ids["kept_network"]}"\n'
            f'agent_id = "{ids["dhcp_agent"]}"\nalias = "agent"\ntoken_id = "{token}"\n'
            f'"X-Subject-Token" = "{token}"\n'
            # Only the event long-poll has it: with nothing to report, each case would wait.
            "timeout = 0\n\n")
    for plural in ("networks", "subnets", "ports"):
        one = plural[:-1]
        text += operation(f"/v2.0/{plural}/{{item_id}}", "^(GET|PUT)$",
                          item_id=ids[f"kept_{one}"])
        text += operation(f"/v2.0/{plural}/{{item_id}}", "^DELETE$",
                          item_id=ids[f"doomed_{one}"])
    text += operation("/v2.0/agents/{agent_id}", "^DELETE$", agent_id=ids["spare_agent"])
    text += operation("/agent-rpc/v1/dhcp/ports/{port_id}", ".*", port_id=ids["kept_port"])
    # DELETE revokes its X-Subject-Token: not the admin token every other case uses.
    text += operation("/v3/auth/tokens", "^DELETE$", **{"X-Subject-Token": throwaway})
    return text


def test_every_operation_of_the_served_document_answers_below_500(
        server: RunningServer, tmp_path: Path) -> None:
    document = httpx.get(server.url + "/openapi.json", timeout=10).json()
    operations = sum(len(v) for v in document["paths"].values())
    token = server.tokens["admin"]
    config = tmp_path / "schemathesis.toml"
    throwaway = server.login(*USERS["admin"])
    config.write_text(_config(_world(server), token, throwaway))
    # One worker: with two, schemathesis generates cases in two threads, and Hypothesis
    # describing its strategies in both at once broke now and then in CPython's ast module
    # ("AST constructor recursion depth mismatch"), failing the run with no request sent.
    result = subprocess.run(
        [_st(), "--config-file", str(config), "--no-color", "run",
         server.url + "/openapi.json", "--checks", "not_a_server_error",
         "--max-examples", str(EXAMPLES), "--seed", str(SEED), "--workers", "1",
         "--phases", "examples,coverage,fuzzing", "--request-timeout", "20",
         "--header", f"X-Auth-Token: {token}", "--max-failures", "10"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    out = result.stdout + result.stderr
    report = tmp_path / "schemathesis.out"
    report.write_text(out)
    assert result.returncode == 0, f"(the whole report: {report})\n" + _worth_reading(out)
    assert f"Tested: {operations}" in out, out[-4000:]
    assert " failed" not in out.split("Test cases:")[-1].splitlines()[1], out[-4000:]
