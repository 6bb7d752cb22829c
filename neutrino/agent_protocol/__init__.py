"""The agent protocol, server side: the wire contract, both drivers' endpoints, the wake-up.

Two kinds of module live here, and the difference matters to who may import them:
  - the wire contract, shared by both sides: `messages.py` (typed payloads, version) and
    `bounds.py` (what a field may hold); agents and transport drivers import only these;
  - the server's side: `http_endpoints.py` (routes of the HTTP driver), `rabbit_endpoints.py`
    and `rabbit_server.py` (the RabbitMQ driver's call table and consumer), `signal.py`
    (wakes this process's long-polls). They call services and never open a database
    session; tests/unit/test_layering.py holds the rule.
The agent side of both drivers is neutrino/transport/.
"""
