"""Active health checks: every instance's ``/health/ready``, on an interval, concurrently."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import httpx
import structlog

from kairos.gateway.domain.balancing import Instance
from kairos.gateway.proxy import HttpUpstream
from kairos.platform.aio import cancel_and_wait

log = structlog.get_logger(__name__)

READY_PATH = "/health/ready"


class HealthChecker:
    def __init__(self, upstreams: Sequence[HttpUpstream], *, interval: float, timeout: float) -> None:
        self._upstreams = list(upstreams)
        self._interval = interval
        # Its own client: a proxy pool saturated by traffic must not delay the checks.
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(timeout), follow_redirects=False)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        for upstream in self._upstreams:
            upstream.publish_metrics()
        if self._upstreams:
            self._task = asyncio.create_task(self._run(), name="gateway-health-checks")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait([self._task])
            self._task = None
        await self._client.aclose()
        for upstream in self._upstreams:
            upstream.retire_metrics()

    async def check_all(self) -> None:
        await asyncio.gather(
            *(self._check(upstream, instance) for upstream in self._upstreams for instance in upstream.instances)
        )

    async def _run(self) -> None:
        while True:
            await self.check_all()
            await asyncio.sleep(self._interval)

    async def _check(self, upstream: HttpUpstream, instance: Instance) -> None:
        try:
            response = await self._client.get(instance.url + READY_PATH)
            passed = response.status_code == 200
        except httpx.HTTPError:
            passed = False
        except Exception:
            # Whatever went wrong, the check failed: the loop must go on checking every instance.
            log.error("gateway.health_check_error", service=upstream.service, instance=instance.url, exc_info=True)
            passed = False
        upstream.health_checked(instance, passed=passed)
