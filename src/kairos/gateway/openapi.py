"""The combined OpenAPI document at ``/api/openapi.json`` and its reference pages at ``/api/docs``.

Each service is asked for its own document through the route table, as a client's request would be (the
same instances, balancing and breakers in the distributed shape, the app itself in the all-in-one). The
merged result is kept for a short while; one that misses a service is kept for less, so it fills in soon
after the service is back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import structlog

from kairos.gateway.domain.openapi import ServiceDocument, merge, unavailable
from kairos.gateway.routing import API_PREFIX, RouteTable

log = structlog.get_logger(__name__)

FETCH_TIMEOUT = 5.0  # seconds a service may take to give its document; a slow one is marked, not waited for
INCOMPLETE_CACHE_SECONDS = 5.0


class CombinedDocument:
    def __init__(
        self,
        *,
        routes: RouteTable,
        client: httpx.AsyncClient,
        own_document: Callable[[], Mapping[str, Any]],
        title: str,
        version: str,
        cache_seconds: float,
    ) -> None:
        self._routes = routes
        self._own_document = own_document
        self._title = title
        self._version = version
        self._cache_seconds = cache_seconds
        self._client = client  # through the route table (routing.internal_client)
        self._cached: dict[str, Any] | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def document(self) -> dict[str, Any]:
        async with self._lock:  # many clients at once: one round of questions to the services
            if self._cached is None or time.monotonic() >= self._expires_at:
                self._cached = await self._collect()
                missing = unavailable(self._cached)
                lifetime = min(self._cache_seconds, INCOMPLETE_CACHE_SECONDS) if missing else self._cache_seconds
                self._expires_at = time.monotonic() + lifetime
                if missing:
                    log.warning("gateway.openapi_incomplete", missing=missing)
            return self._cached

    async def _collect(self) -> dict[str, Any]:
        services = self._routes.services()
        fetched = await asyncio.gather(*(self._fetch(service) for service in services))
        own = ServiceDocument("gateway", f"{API_PREFIX}gateway/", document=self._own_document())
        return merge(
            [own, *fetched],
            title=self._title,
            version=self._version,
            description="Every Kairos service's API as the gateway serves it; "
            "`x-kairos-services` says which services could be asked.",
        )

    async def _fetch(self, service: str) -> ServiceDocument:
        prefix = f"{API_PREFIX}{service}/"
        try:
            async with asyncio.timeout(FETCH_TIMEOUT):
                response = await self._client.get(f"{prefix}openapi.json")
        except TimeoutError:
            return ServiceDocument(service, prefix, problem=f"no answer within {FETCH_TIMEOUT:g} s")
        if response.status_code != 200:
            return ServiceDocument(service, prefix, problem=f"answered {response.status_code}")
        try:
            document = response.json()
        except ValueError:
            return ServiceDocument(service, prefix, problem="answered with no JSON document")
        if not isinstance(document, dict) or "paths" not in document:
            return ServiceDocument(service, prefix, problem="answered with no OpenAPI document")
        return ServiceDocument(service, prefix, document=document)
