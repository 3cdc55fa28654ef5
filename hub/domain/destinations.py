"""Where the hub may send a channel's secrets: the rules for providers' API addresses.

An admin could otherwise point a channel's API address at the cloud's metadata service or an
internal host and have the hub call it with the channel's credentials. A provider's address is
an http(s) URL whose host is public; private and loopback networks are allowed only where the
operator says so (``KEFU_ALLOW_PRIVATE_NETWORKS``, for tests and on-premises fakes). Link-local
addresses, where clouds put their metadata services, are never allowed.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

#: hosts that name a cloud metadata service whatever they resolve to
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "instance-data"})


def address_problem(address: str, *, allow_private: bool) -> str | None:
    """Why the hub may not call this IP address (``None``: it may)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"{address!r} is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_link_local or ip.is_multicast or ip.is_unspecified:
        return f"{ip} is a link-local, multicast or unspecified address"
    if ip.is_loopback or ip.is_private or ip.is_reserved:
        if allow_private:
            return None
        return f"{ip} is a private or loopback address (allowed only with private networks)"
    return None


def url_problem(url: str, *, allow_private: bool) -> str | None:
    """Why the hub may not send a channel's secrets to this URL (``None``: it may).

    A host name is checked again, after it is resolved, each time the hub connects.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http(s) URL"
    return host_problem(parts.hostname, allow_private=allow_private)


def host_problem(host: str, *, allow_private: bool) -> str | None:
    """Why the hub may not send a channel's secrets to this host (a mail server's)."""
    host = host.strip().rstrip(".").lower()
    if not host or any(c in host for c in "/@ "):
        return "must be a host name or an IP address"
    if host in METADATA_HOSTS:
        return f"{host} is a metadata service"
    if host == "localhost" or host.endswith(".localhost"):
        return None if allow_private else "localhost is allowed only with private networks"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return None
    return address_problem(host, allow_private=allow_private)
