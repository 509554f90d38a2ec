"""Instances from DNS: a service named by a URL whose host has one address per instance (a Kubernetes
headless Service, or any name with several A/AAAA records); each address becomes an instance URL with the
same scheme and port."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import ip_address
from urllib.parse import urlsplit


@dataclass(frozen=True)
class DnsName:
    scheme: str
    host: str
    port: int

    @classmethod
    def parse(cls, url: str) -> DnsName:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL with a host name: {url!r}")
        if parts.path not in ("", "/") or parts.query:
            raise ValueError(f"a service's DNS URL has no path or query: {url!r}")
        return cls(parts.scheme, parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))

    def instance_urls(self, addresses: Iterable[str]) -> list[str]:
        """One URL per distinct address, sorted, IPv6 in brackets (RFC 3986 §3.2.2)."""
        urls = set()
        for address in addresses:
            host = f"[{address}]" if ip_address(address).version == 6 else address
            urls.add(f"{self.scheme}://{host}:{self.port}")
        return sorted(urls)


@dataclass(frozen=True)
class Change:
    added: list[str]
    removed: list[str]

    @property
    def is_empty(self) -> bool:
        return not self.added and not self.removed


def change(current: Iterable[str], resolved: Iterable[str]) -> Change:
    """What to add and remove; an empty answer changes nothing (a DNS hiccup must not empty the pool)."""
    now, then = set(resolved), set(current)
    if not now:
        return Change([], [])
    return Change(sorted(now - then), sorted(then - now))
