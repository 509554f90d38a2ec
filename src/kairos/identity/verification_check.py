"""The periodic check of professional verifications: lapses those past their expiry, reminds those about to
expire (``kairos.identity.profiles.check_verifications``). Every instance runs it; SKIP LOCKED shares the work."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from kairos.identity.profiles import check_verifications
from kairos.platform.aio import cancel_and_wait
from kairos.platform.runtime import ServiceRuntime

log = structlog.get_logger(__name__)

CHECK_INTERVAL_SECONDS = 3600.0  # expiries are dates; an hour late is on time


class VerificationChecker:
    def __init__(self, runtime: ServiceRuntime, *, interval: float = CHECK_INTERVAL_SECONDS) -> None:
        self._runtime = runtime
        self._interval = interval
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._run(), name="identity-verification-check"))

    async def stop(self) -> None:
        await cancel_and_wait(self._tasks)
        self._tasks.clear()

    async def check_once(self) -> None:
        result = await check_verifications(uow=self._runtime.unit_of_work(), cipher=self._runtime.cipher)
        if result.lapsed or result.reminded:
            log.info("identity.verifications_checked", lapsed=result.lapsed, reminded=result.reminded)

    async def _run(self) -> None:
        while True:
            # A failed round (database away) is tried again at the next one; the loop must outlive it.
            with contextlib.suppress(Exception):
                await self.check_once()
            await asyncio.sleep(self._interval)
