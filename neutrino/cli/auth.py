"""Turn the --os-* options into a keystoneauth session and a transport to the network API."""

from __future__ import annotations

import argparse
import os

from keystoneauth1 import session as ks_session
from keystoneauth1 import token_endpoint
from keystoneauth1.identity import v2, v3
from keystoneauth1.plugin import BaseAuthPlugin

from neutrino.cli.api import CliError
from neutrino.cli.transports import SessionTransport

# The old neutron client called these publicURL/internalURL/adminURL; keystoneauth wants the
# bare interface names.
_INTERFACES = {"publicurl": "public", "internalurl": "internal", "adminurl": "admin"}


def add_auth_options(parser: argparse.ArgumentParser) -> None:
    """Add the --os-* options, each defaulting to its OS_* environment variable."""
    env = os.environ.get
    group = parser.add_argument_group("authentication")
    group.add_argument("--os-auth-url", metavar="<auth-url>", default=env("OS_AUTH_URL"),
                       help="Identity URL, e.g. http://controlnode:5000/v2.0 (Keystone v2.0) "
                            "or http://controlnode:5000/v3. Default: env[OS_AUTH_URL].")
    group.add_argument("--os-username", metavar="<username>", default=env("OS_USERNAME"),
                       help="User name to authenticate as. Default: env[OS_USERNAME].")
    group.add_argument("--os-password", metavar="<password>", default=env("OS_PASSWORD"),
                       help="Password of that user. Default: env[OS_PASSWORD].")
    group.add_argument("--os-tenant-name", metavar="<tenant-name>",
                       default=env("OS_TENANT_NAME"),
                       help="Tenant (project) to scope the token to. Default: env[OS_TENANT_NAME].")
    group.add_argument("--os-project-name", metavar="<project-name>",
                       default=env("OS_PROJECT_NAME"),
                       help="Project to scope the token to; wins over --os-tenant-name. "
                            "Default: env[OS_PROJECT_NAME].")
    group.add_argument("--os-user-domain-name", metavar="<domain>",
                       default=env("OS_USER_DOMAIN_NAME", "Default"),
                       help="Domain of the user (v3 only). Default: env[OS_USER_DOMAIN_NAME] "
                            "or 'Default'.")
    group.add_argument("--os-project-domain-name", metavar="<domain>",
                       default=env("OS_PROJECT_DOMAIN_NAME", "Default"),
                       help="Domain of the project (v3 only). Default: "
                            "env[OS_PROJECT_DOMAIN_NAME] or 'Default'.")
    group.add_argument("--os-region-name", metavar="<region>", default=env("OS_REGION_NAME"),
                       help="Region of the network endpoint in the catalog. "
                            "Default: env[OS_REGION_NAME].")
    group.add_argument("--os-endpoint-type", metavar="<interface>",
                       default=env("OS_ENDPOINT_TYPE", "public"),
                       help="Catalog interface: public, internal or admin (publicURL etc. also "
                            "accepted). Default: env[OS_ENDPOINT_TYPE] or 'public'.")
    group.add_argument("--os-token", metavar="<token>", default=env("OS_TOKEN"),
                       help="A token to use instead of a user name and password; needs "
                            "--os-url. Default: env[OS_TOKEN].")
    group.add_argument("--os-url", metavar="<url>", default=env("OS_URL"),
                       help="Network API URL, e.g. http://controlnode:9696, used instead of "
                            "the catalog's. Default: env[OS_URL].")
    group.add_argument("--insecure", action="store_true", default=False,
                       help="Do not verify the server's TLS certificate.")
    group.add_argument("--os-cacert", metavar="<ca-bundle>", default=env("OS_CACERT"),
                       help="CA bundle to verify TLS certificates with. Default: env[OS_CACERT].")
    group.add_argument("--os-cert", metavar="<certificate>", default=env("OS_CERT"),
                       help="Client certificate (PEM), for a server that requires one. "
                            "Default: env[OS_CERT].")
    group.add_argument("--os-key", metavar="<key>", default=env("OS_KEY"),
                       help="Private key of --os-cert (PEM). Default: env[OS_KEY].")


def password_plugin(options: argparse.Namespace) -> BaseAuthPlugin:
    """Keystone v2.0 password auth if the URL ends in /v2.0, else v3 with domain names."""
    missing = [flag for flag, value in (("--os-username", options.os_username),
                                        ("--os-password", options.os_password))
               if not value]
    if missing:
        raise CliError(f"Missing {' and '.join(missing)} (or the OS_* environment variables); "
                       "give both, or --os-token with --os-url.")
    project = options.os_project_name or options.os_tenant_name
    auth_url = options.os_auth_url.rstrip("/")
    if auth_url.endswith("/v2.0"):
        return v2.Password(auth_url=auth_url, username=options.os_username,
                           password=options.os_password, tenant_name=project)
    if not auth_url.endswith("/v3"):
        # An unversioned URL: we speak v3 directly rather than rely on version discovery.
        auth_url += "/v3"
    return v3.Password(auth_url=auth_url, username=options.os_username,
                       password=options.os_password, project_name=project,
                       user_domain_name=options.os_user_domain_name,
                       project_domain_name=options.os_project_domain_name)


def build_transport(options: argparse.Namespace) -> SessionTransport:
    """A transport authenticated as the options say; nothing is sent until the first request."""
    interface = _INTERFACES.get(options.os_endpoint_type.lower(), options.os_endpoint_type)
    auth: BaseAuthPlugin
    if options.os_token:
        if not options.os_url:
            raise CliError("--os-token needs --os-url (or env[OS_URL]): a bare token has no "
                           "catalog to find the network endpoint in.")
        auth = token_endpoint.Token(options.os_url, options.os_token)
    elif options.os_auth_url:
        auth = password_plugin(options)
    else:
        raise CliError("No identity URL: set --os-auth-url or env[OS_AUTH_URL] (with a user "
                       "name and password), or --os-url with --os-token.")
    verify: bool | str = options.os_cacert or True
    trust = f"--os-cacert {options.os_cacert}" if options.os_cacert else "the system's CAs"
    if options.insecure:
        verify = False
    if bool(options.os_cert) != bool(options.os_key):
        raise CliError("--os-cert and --os-key (env[OS_CERT], env[OS_KEY]) go together: give "
                       "both the client certificate and its key, or neither.")
    cert = (options.os_cert, options.os_key) if options.os_cert else None
    session = ks_session.Session(auth=auth, verify=verify, cert=cert)
    return SessionTransport(session, auth_url=options.os_auth_url,
                            endpoint_override=options.os_url, interface=interface,
                            region_name=options.os_region_name, trust=trust,
                            client_cert=cert is not None)
