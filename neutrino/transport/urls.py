"""`transport_url` values -> a typed TransportUrl (pure; server, agents and lab share it).

The forms are oslo.messaging's, as Neutron's config files write them:
`http(s)://USER:PASS@HOST:PORT/?project=P` for the embedded HTTP transport and
`rabbit://USER:PASS@HOST:PORT[,USER:PASS@HOST2:PORT]/VHOST` (or amqp://) for RabbitMQ.
Which of the valid forms a driver can use (one broker, credentials present) is the
driver's decision; this module only says what the URL contains.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import SplitResult, parse_qs, unquote, urlsplit

HTTP_SCHEMES = ("http", "https")
RABBIT_SCHEMES = ("rabbit", "amqp")
SCHEMES = HTTP_SCHEMES + RABBIT_SCHEMES
# What config errors say is allowed ("… is invalid: expected <ACCEPTED>").
ACCEPTED = "a URL starting with http://, https:// or rabbit://"
EXAMPLES = "http://user:pass@host:port/ or rabbit://user:pass@host:port/"


class TransportUrlError(ValueError):
    """A transport_url that is not one; `problem` says what is wrong (without passwords)."""

    def __init__(self, url: str, problem: str) -> None:
        self.url = url
        self.problem = problem
        super().__init__(f"transport_url {redacted(url)!r}: {problem}; expected {EXAMPLES}")


@dataclass(frozen=True)
class Endpoint:
    """One host of the URL with its own credentials (None: the URL names none)."""

    host: str  # without the brackets of an IPv6 literal
    port: int | None
    username: str | None
    password: str | None

    @property
    def netloc(self) -> str:
        """host[:port] as a URL writes it, without credentials."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}" if self.port else host


@dataclass(frozen=True)
class TransportUrl:
    scheme: str  # lower case, one of SCHEMES
    endpoints: tuple[Endpoint, ...]  # at least one
    path: str = ""  # unquoted, without the leading "/" (RabbitMQ: the virtual host)
    query: dict[str, list[str]] = field(default_factory=dict)

    @property
    def is_http(self) -> bool:
        return self.scheme in HTTP_SCHEMES

    @property
    def is_rabbit(self) -> bool:
        return self.scheme in RABBIT_SCHEMES

    @property
    def first(self) -> Endpoint:
        return self.endpoints[0]

    @property
    def virtual_host(self) -> str:
        """RabbitMQ's vhost: an empty path is the default "/" vhost."""
        return self.path or "/"

    def query_value(self, name: str, default: str) -> str:
        return self.query.get(name, [default])[0]

    def base_url(self) -> str:
        """scheme://host[:port] of the first host, without credentials."""
        return f"{self.scheme}://{self.first.netloc}"


def redacted(url: str) -> str:
    """The URL with every password replaced by ***, for messages and logs."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    netloc, slash, tail = rest.partition("/")
    hosts = ",".join(_redacted_netloc(piece) for piece in netloc.split(","))
    return f"{scheme}{sep}{hosts}{slash}{tail}"


def _redacted_netloc(netloc: str) -> str:
    userinfo, at, hostport = netloc.rpartition("@")
    user, colon, _ = userinfo.partition(":")
    return f"{user}{colon and ':***'}{at}{hostport}"


def parse_transport_url(url: str) -> TransportUrl:
    """Parse a transport_url; TransportUrlError names what is wrong and what is accepted."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. an unbalanced "[" of an IPv6 literal
        raise TransportUrlError(url, f"not a URL ({exc})") from None
    if parts.scheme not in SCHEMES:
        found = f"{parts.scheme}://" if parts.scheme else "no scheme"
        raise TransportUrlError(url, f"{found} is not one of http://, https://, rabbit:// "
                                     "and amqp://")
    if not parts.netloc:
        raise TransportUrlError(url, "no host")
    endpoints = tuple(_endpoint(url, piece) for piece in parts.netloc.split(","))
    return TransportUrl(scheme=parts.scheme, endpoints=endpoints,
                        path=unquote(parts.path[1:]), query=parse_qs(parts.query))


def _endpoint(url: str, piece: str) -> Endpoint:
    parts = SplitResult("", piece, "", "", "")
    try:
        host = parts.hostname
        port = parts.port
    except ValueError:  # a port that is no number, or out of range
        raise TransportUrlError(url, f"the port of {_redacted_netloc(piece)!r} is not a "
                                     "number from 1 to 65535") from None
    if not host:
        raise TransportUrlError(url, f"no host in {_redacted_netloc(piece)!r}")
    if port == 0:
        raise TransportUrlError(url, "port 0: a port is a number from 1 to 65535")
    return Endpoint(host=host, port=port,
                    username=None if parts.username is None else unquote(parts.username),
                    password=None if parts.password is None else unquote(parts.password))
