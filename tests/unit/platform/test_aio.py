"""Stopping a background worker that waits on an event: the cancellation must never be lost.

On Python 3.11, ``asyncio.wait_for(event.wait(), …)`` swallows a cancellation that arrives as the event is
set (python/cpython#86296): the worker loops on and whoever awaits it hangs. That hung the test suite once,
in an outbox relay being stopped; ``kairos.platform.aio.wait_event`` is what the workers use instead.
"""

from __future__ import annotations

import asyncio

import pytest

from kairos.platform.aio import cancel_and_wait, wait_event


async def _worker(event: asyncio.Event, rounds: list[bool]) -> None:
    while True:
        rounds.append(await wait_event(event, 10))
        event.clear()


async def test_a_cancellation_arriving_as_the_event_is_set_stops_the_worker() -> None:
    event, rounds = asyncio.Event(), []
    worker = asyncio.create_task(_worker(event, rounds))
    await asyncio.sleep(0.01)  # the worker waits on the event

    event.set()
    worker.cancel()  # in the same step: the race that asyncio.wait_for loses

    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(2):  # a hang fails the test instead of the suite
            await worker


async def test_it_tells_a_set_event_from_a_timeout() -> None:
    event = asyncio.Event()
    assert await wait_event(event, 0.01) is False
    event.set()
    assert await wait_event(event, 10) is True


async def test_cancel_and_wait_returns_once_every_worker_has_unwound() -> None:
    events = [asyncio.Event() for _ in range(3)]
    workers = [asyncio.create_task(_worker(event, [])) for event in events]
    await asyncio.sleep(0.01)
    for event in events:
        event.set()

    async with asyncio.timeout(2):
        await cancel_and_wait(workers)

    assert all(worker.cancelled() for worker in workers)
