"""What the public reads tell caches (RFC 9111): the gateway keeps them for everyone and drops them when this
service's events say they changed (their ``Cache-Tag``; ``kairos.gateway.handlers``).

``s-maxage`` is the gateway's lifetime. ``max-age=0`` makes a browser ask again each time, with the ETag the
gateway gave, and get a 304 from the gateway's copy: a copy in the browser no event could reach is never made.
Only answers with nothing personal in them are marked, those anyone may read without signing in; appointments,
holds, the waitlist and a person's own lists are health data or about one person, and stay uncached.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import Response

from kairos.contracts.cache_tags import APPOINTMENT_DIRECTORY, APPOINTMENT_DOMAINS, APPOINTMENT_RESOURCES

__all__ = ["APPOINTMENT_DIRECTORY", "APPOINTMENT_DOMAINS", "APPOINTMENT_RESOURCES", "shared"]

CONFIGURATION_SECONDS = 300  # domains, resources, schedules, profiles: each change has its event
DIRECTORY_SECONDS = 60  # the earliest free times also move with the clock and imported calendars (no event)


def shared(response: Response, *, seconds: int, tags: Iterable[object]) -> None:
    """Mark an answer as one copy for everyone, kept ``seconds`` by the gateway, about ``tags``."""
    response.headers["Cache-Control"] = f"public, max-age=0, s-maxage={seconds}"
    named = sorted({str(tag) for tag in tags if tag is not None})
    if named:
        response.headers["Cache-Tag"] = ", ".join(named)
