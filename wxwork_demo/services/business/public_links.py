"""HTTP sessions that reach public addresses only: a link a user gives is fetched from this host, so without this
it could reach what only this host can (its loopback, the LAN behind it, a cloud's metadata service at
169.254.169.254): a server-side request forgery.

The check is made where the connection is made, for the first request and every redirect hop alike: the host is
resolved once, every address it resolves to must be public (one private address among public ones refuses it),
and the socket connects to those checked addresses, never to the name again, so a DNS answer that changes
between the check and the connection (rebinding) cannot swap a private address in. TLS still verifies the
certificate against the name, and the Host header still carries it.

May call: nothing of the app (urllib3 and requests only).
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from collections.abc import Callable

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.connection import allowed_gai_family

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# NAT64's well-known prefix: its addresses reach the IPv4 address in their last 32 bits.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class NotPublicAddress(Exception):
    """A link's host is (or resolves to) an address links may not reach. Not an OSError on purpose: urllib3
    would take it for a failed connection, retry it and hide it in a ConnectionError."""

    def __init__(self, host: str, address: IPAddress) -> None:
        super().__init__(f"{host} is {address}, not a public address")
        self.host = host
        self.address = address


def is_public(address: IPAddress) -> bool:
    """A globally routable unicast address. An IPv6 address that carries an IPv4 one (mapped, 6to4, NAT64) is
    judged by the IPv4 address it reaches, so `::ffff:127.0.0.1` is loopback here too."""
    if isinstance(address, ipaddress.IPv6Address):
        carried = address.ipv4_mapped or address.sixtofour
        if carried is None and address in _NAT64:
            carried = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if carried is not None:
            return is_public(carried)
    return address.is_global and not address.is_multicast


Allowed = Callable[[IPAddress], bool]


def checked_addresses(host: str, port: int, allowed: Allowed) -> list[str]:
    """Every address `host` resolves to, each one `allowed`; else `NotPublicAddress` naming the first that is not."""
    name = host.strip("[]")
    try:
        literal = ipaddress.ip_address(name)
    except ValueError:
        pass
    else:  # an address as such: judged as written (a host without IPv6 cannot even resolve `::1`)
        if not allowed(literal):
            raise NotPublicAddress(name, literal)
        return [name]
    found: list[str] = []
    for *_, sockaddr in socket.getaddrinfo(name, port, allowed_gai_family(), socket.SOCK_STREAM):
        text = str(sockaddr[0])
        address = ipaddress.ip_address(text.split("%", 1)[0])  # fe80::1%eth0: the zone is no part of it
        if not allowed(address):
            raise NotPublicAddress(name, address)
        if text not in found:
            found.append(text)
    return found


def guarded_session(allowed: Allowed = is_public) -> requests.Session:
    """A requests session whose every connection goes to `allowed` addresses only (`NotPublicAddress` else)."""
    adapter = _GuardedAdapter(allowed)
    session = requests.Session()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class _GuardedAdapter(HTTPAdapter):
    def __init__(self, allowed: Allowed) -> None:
        self._pools = _pool_classes(allowed)
        super().__init__()

    def init_poolmanager(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pools


def _pool_classes(allowed: Allowed) -> dict[str, type[HTTPConnectionPool]]:
    """urllib3's pools, with connections that resolve their host themselves and connect to checked addresses."""

    class Connection(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            return _connect_checked(self, super()._new_conn, allowed)

    class SecureConnection(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            return _connect_checked(self, super()._new_conn, allowed)

    class Pool(HTTPConnectionPool):
        ConnectionCls = Connection

    class SecurePool(HTTPSConnectionPool):
        ConnectionCls = SecureConnection

    return {"http": Pool, "https": SecurePool}


def _connect_checked(
    connection: HTTPConnection, connect: Callable[[], socket.socket], allowed: Allowed
) -> socket.socket:
    """urllib3's own connect (its timeouts, socket options and errors), aimed at each checked address in turn
    instead of at the name. The name is put back afterwards: a reconnection resolves and checks again."""
    name = connection._dns_host
    try:
        addresses = checked_addresses(name, connection.port, allowed)
    except socket.gaierror as exc:
        raise NameResolutionError(connection.host, connection, exc) from exc
    try:
        for address in addresses[:-1]:
            connection._dns_host = address
            with contextlib.suppress(NewConnectionError, ConnectTimeoutError):
                return connect()
        connection._dns_host = addresses[-1]  # the last one's failure is the answer
        return connect()
    finally:
        connection._dns_host = name
