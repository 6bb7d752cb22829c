"""`neutrino`: the old `neutron` client's commands (cliff + keystoneauth1) for Neutrino.

Layout: `main` (command table, main()), `app` (cliff App, global --os-* options), `auth`
(options -> keystoneauth session), `transports` (keystoneauth and httpx transports), `api`
(every REST call), `resolve` (name-or-id lookup), `display` (cell formatting), `arguments`
(option types), `commands/` (one module per resource).

In-process use, e.g. in tests:

    main(["net-list", "-f", "json"], transport=t, stdout=out, stderr=err) -> exit status

where `t` is any object with `request(method, path, json) -> (status, body)`, such as
`transports.HttpxTransport(fastapi_test_client, token=...)`.
"""
