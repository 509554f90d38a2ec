"""Fetching an iCalendar URL without letting the URL reach where it should not (server-side request forgery).

The host is resolved first and every address it resolves to must be a public one (not loopback, private,
link-local, shared, reserved, multicast or unspecified) unless the setting allows them; the request then goes
to the address that was checked (the name kept for the Host header and TLS), so a second resolution cannot
swap in another address. Redirects are followed by hand, a few at most, each checked the same way. Timeouts
bound the connection and every read, and the body is read up to a size limit.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urljoin, urlsplit

import httpx

MAX_REDIRECTS = 3
SCHEMES = {"http": "http", "https": "https", "webcal": "https", "webcals": "https"}
ACCEPT = "text/calendar, application/calendar+json;q=0.5, */*;q=0.1"


class CalendarFetchFailed(Exception):
    """The calendar could not be fetched; the message says why, for the owner of the import."""


class AddressRefused(CalendarFetchFailed):
    """The URL leads to an address the service does not fetch from."""


def normalised_url(url: str) -> str:
    """``webcal://`` is https; anything but http(s) is refused."""
    parts = urlsplit(url.strip())
    scheme = SCHEMES.get(parts.scheme.lower())
    if scheme is None or not parts.hostname:
        raise CalendarFetchFailed("an iCalendar URL is http, https or webcal, with a host")
    return parts._replace(scheme=scheme).geturl()


async def fetch_calendar(url: str, *, timeout_seconds: float, max_bytes: int, allow_private: bool) -> bytes:
    current = normalised_url(url)
    async with httpx.AsyncClient(
        timeout=httpx.Timeout(timeout_seconds), follow_redirects=False, trust_env=False
    ) as client:
        for _ in range(MAX_REDIRECTS + 1):
            parts = urlsplit(current)
            assert parts.hostname is not None
            port = parts.port or (443 if parts.scheme == "https" else 80)
            address = await checked_address(parts.hostname, port, allow_private=allow_private)
            pinned = parts._replace(netloc=f"{_host_literal(address)}:{port}").geturl()
            headers = {"Host": parts.netloc.rpartition("@")[2], "Accept": ACCEPT}
            extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
            try:
                async with client.stream("GET", pinned, headers=headers, extensions=extensions) as response:
                    if response.is_redirect and "location" in response.headers:
                        current = normalised_url(urljoin(current, response.headers["location"]))
                        continue
                    if response.status_code != 200:
                        raise CalendarFetchFailed(f"the calendar URL answered HTTP {response.status_code}")
                    return await _body(response, max_bytes)
            except httpx.HTTPError as error:
                raise CalendarFetchFailed(f"the calendar URL could not be read: {type(error).__name__}") from error
    raise CalendarFetchFailed(f"the calendar URL redirects more than {MAX_REDIRECTS} times")


async def checked_address(host: str, port: int, *, allow_private: bool) -> str:
    """One address of ``host``, after checking that every address it resolves to may be fetched from."""
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as error:
        raise CalendarFetchFailed(f"the calendar's host {host!r} cannot be resolved") from error
    addresses = [str(item[4][0]) for item in found]
    if not addresses:
        raise CalendarFetchFailed(f"the calendar's host {host!r} cannot be resolved")
    if not allow_private:
        for address in addresses:
            if not is_public(address):
                raise AddressRefused(f"the calendar's host {host!r} is not on a public address")
    return addresses[0]


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.partition("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _host_literal(address: str) -> str:
    return f"[{address}]" if ":" in address else address


async def _body(response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise CalendarFetchFailed(f"the calendar is larger than {max_bytes} bytes")
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > max_bytes:
            raise CalendarFetchFailed(f"the calendar is larger than {max_bytes} bytes")
    return bytes(body)
