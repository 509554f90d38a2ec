"""Discovery of service instances by DNS, re-resolved on an interval; new addresses join the pool (and
the health checks), vanished ones leave it. A failed or empty resolution leaves the pool as it is."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Mapping

import structlog

from kairos.gateway.domain.discovery import DnsName, change
from kairos.gateway.proxy import HttpUpstream
from kairos.platform.aio import cancel_and_wait

log = structlog.get_logger(__name__)

Resolver = Callable[[str, int], Awaitable[list[str]]]


async def resolve_addresses(host: str, port: int) -> list[str]:
    """The A and AAAA records of ``host`` as the system resolves them (``/etc/hosts``, then DNS)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


class DnsDiscovery:
    def __init__(
        self,
        names: Mapping[str, DnsName],
        upstreams: Mapping[str, HttpUpstream],
        *,
        interval: float,
        resolve: Resolver = resolve_addresses,
    ) -> None:
        self._names = dict(names)
        self._upstreams = upstreams
        self._interval = interval
        self._resolve = resolve
        self._task: asyncio.Task[None] | None = None

    async def refresh(self) -> None:
        await asyncio.gather(*(self._refresh(service, name) for service, name in self._names.items()))

    def start(self) -> None:
        if self._names:
            self._task = asyncio.create_task(self._run(), name="gateway-dns-discovery")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait([self._task])
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.refresh()

    async def _refresh(self, service: str, name: DnsName) -> None:
        upstream = self._upstreams[service]
        try:
            addresses = await self._resolve(name.host, name.port)
        except OSError as error:  # socket.gaierror included
            log.warning("gateway.dns_resolution_failed", service=service, host=name.host, error=repr(error))
            return
        found = change([instance.url for instance in upstream.instances], name.instance_urls(addresses))
        if found.is_empty:
            return
        upstream.replace_instances(added=found.added, removed=found.removed)
        log.info("gateway.instances_discovered", service=service, added=found.added, removed=found.removed)
