"""Response caching at the edge for GETs a service marks cacheable (``domain/caching.py`` says which), in
Redis (distributed: every gateway shares it) or in memory (all-in-one), with ETag / If-None-Match, and
invalidation by tag when an integration event says the resource changed.

An entry is tagged with every UUID in its path and the service's ``Cache-Tag`` header. Invalidating a tag
deletes its entries and bumps the tag's generation, and that of ``EVERY_TAG``; an answer fetched while any
invalidation happened is not stored (the generations of its path's tags and of ``EVERY_TAG`` are compared at
store time: its declared tags are only known once it arrived), so an event cannot be overtaken by a slow read
of the old state. The compare and the store are two steps: a read that passes the compare in the instant
before an invalidation can still be kept, for at most its lifetime.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kairos.gateway import metrics
from kairos.gateway.domain.caching import (
    Scope as CacheScope,
)
from kairos.gateway.domain.caching import (
    entry_key,
    etag_for,
    matches_if_none_match,
    may_use_stored,
    storable,
    tags_of,
)
from kairos.gateway.proxy import HOP_BY_HOP, VERIFIED_SUBJECT_KEY
from kairos.gateway.routing import RouteTable

log = structlog.get_logger(__name__)

STORE_RETRY_AFTER = 5.0  # seconds the cache is bypassed after its store failed (as for the rate limits)
GENERATION_TTL = 86_400  # a tag's generation outlives any entry that could have been read before it changed
# Cache-Tag is for this cache only (as a CDN's surrogate keys): kept apart from the entry, never sent on.
NOT_STORED_HEADERS = HOP_BY_HOP | {b"content-length", b"x-kairos-cache", b"age", b"cache-tag"}
EVERY_TAG = "*"  # its generation moves at every invalidation (no UUID nor a service's tag name is "*")


@dataclass(frozen=True)
class Entry:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    etag: str
    stored_at: float
    lifetime: int

    def to_json(self) -> str:
        return json.dumps(
            {
                "status": self.status,
                "headers": self.headers,
                "body": self.body.decode("latin-1"),
                "etag": self.etag,
                "stored_at": self.stored_at,
                "lifetime": self.lifetime,
            }
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Entry:
        data = json.loads(text)
        return cls(
            status=data["status"],
            headers=[(name, value) for name, value in data["headers"]],
            body=data["body"].encode("latin-1"),
            etag=data["etag"],
            stored_at=data["stored_at"],
            lifetime=data["lifetime"],
        )


class CacheStore(Protocol):
    async def get(self, key: str) -> Entry | None: ...

    async def generations(self, tags: Sequence[str]) -> list[int]: ...

    async def put(self, key: str, entry: Entry, *, tags: Sequence[str], expected: dict[str, int]) -> bool:
        """Store unless a tag in ``expected`` has moved to another generation; True when stored."""
        ...

    async def invalidate(self, tags: Sequence[str]) -> int:
        """Delete every entry with one of ``tags``; the number deleted."""
        ...

    async def aclose(self) -> None: ...


class MemoryStore:
    """The all-in-one shape's cache: one process, one dictionary."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._entries: dict[str, tuple[float, Entry]] = {}
        self._tags: dict[str, set[str]] = {}
        self._generations: dict[str, int] = {}
        self._clock = clock

    async def get(self, key: str) -> Entry | None:
        found = self._entries.get(key)
        if found is None:
            return None
        expires_at, entry = found
        if self._clock() >= expires_at:
            del self._entries[key]
            return None
        return entry

    async def generations(self, tags: Sequence[str]) -> list[int]:
        return [self._generations.get(tag, 0) for tag in tags]

    async def put(self, key: str, entry: Entry, *, tags: Sequence[str], expected: dict[str, int]) -> bool:
        if any(self._generations.get(tag, 0) != generation for tag, generation in expected.items()):
            return False
        self._entries[key] = (self._clock() + entry.lifetime, entry)
        for tag in tags:
            self._tags.setdefault(tag, set()).add(key)
        return True

    async def invalidate(self, tags: Sequence[str]) -> int:
        deleted = 0
        for tag in [*tags, EVERY_TAG]:
            self._generations[tag] = self._generations.get(tag, 0) + 1
            for key in self._tags.pop(tag, set()):
                deleted += self._entries.pop(key, None) is not None
        return deleted

    async def aclose(self) -> None:
        self._entries.clear()


class RedisStore:
    """Entries as strings with their lifetime as expiry; a set of entry keys per tag; a counter per tag."""

    def __init__(self, url: str, *, prefix: str) -> None:
        self._redis: Redis = Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self._prefix = prefix

    async def get(self, key: str) -> Entry | None:
        found = await self._redis.get(f"{self._prefix}:entry:{key}")
        return None if found is None else Entry.from_json(found)

    async def generations(self, tags: Sequence[str]) -> list[int]:
        if not tags:
            return []
        values = await self._redis.mget([f"{self._prefix}:generation:{tag}" for tag in tags])
        return [int(value or 0) for value in values]

    async def put(self, key: str, entry: Entry, *, tags: Sequence[str], expected: dict[str, int]) -> bool:
        if expected and await self.generations(list(expected)) != list(expected.values()):
            return False
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(f"{self._prefix}:entry:{key}", entry.to_json(), ex=entry.lifetime)
            for tag in tags:
                pipe.sadd(f"{self._prefix}:tag:{tag}", key)
                pipe.expire(f"{self._prefix}:tag:{tag}", entry.lifetime, gt=True)
                pipe.expire(f"{self._prefix}:tag:{tag}", entry.lifetime, nx=True)
            await pipe.execute()
        return True

    async def invalidate(self, tags: Sequence[str]) -> int:
        deleted = 0
        for tag in [*tags, EVERY_TAG]:
            tag_key = f"{self._prefix}:tag:{tag}"
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(f"{self._prefix}:generation:{tag}")
                pipe.expire(f"{self._prefix}:generation:{tag}", GENERATION_TTL)
                pipe.smembers(tag_key)
                pipe.delete(tag_key)
                _, _, members, _ = await pipe.execute()
            if members:
                deleted += int(await self._redis.delete(*[f"{self._prefix}:entry:{m.decode()}" for m in members]))
        return deleted

    async def aclose(self) -> None:
        await self._redis.aclose()


class ResponseCache:
    def __init__(self, store: CacheStore, *, max_bytes: int, max_lifetime: int) -> None:
        self.store = store
        self.max_bytes = max_bytes
        self.max_lifetime = max_lifetime
        self._bypass_until = float("-inf")

    @property
    def is_available(self) -> bool:
        return time.monotonic() >= self._bypass_until

    def failed(self, error: Exception) -> None:
        self._bypass_until = time.monotonic() + STORE_RETRY_AFTER
        log.warning("gateway.cache_store_failed", error=repr(error), retry_after=STORE_RETRY_AFTER)

    async def invalidate(self, tags: Sequence[str]) -> None:
        """Called by the event handlers: failures propagate, so the event is retried, never lost."""
        deleted = await self.store.invalidate([tag.lower() for tag in tags])
        metrics.CACHE.labels("invalidated").inc(deleted)
        log.info("gateway.cache_invalidated", tags=list(tags), entries=deleted)


class ResponseCacheMiddleware:
    """Between the edge (which verified the token) and the dispatch to a service; GETs to services only."""

    def __init__(self, app: ASGIApp, *, cache: ResponseCache, routes: RouteTable) -> None:
        self.app = app
        self.cache = cache
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or not self.cache.is_available
            or self.routes.match(scope["path"]) is None
        ):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        subject = scope.get(VERIFIED_SUBJECT_KEY)
        subject = subject if isinstance(subject, str) else None
        keys = {
            cache_scope: entry_key(
                path=scope["path"],
                query=scope.get("query_string", b"").decode("latin-1"),
                accept=headers.get("accept", ""),
                accept_language=headers.get("accept-language", ""),
                subject=subject if cache_scope is CacheScope.PRIVATE else None,
            )
            for cache_scope in CacheScope
        }
        watched = [*tags_of(scope["path"], None), EVERY_TAG]
        try:
            if may_use_stored(headers.get("cache-control")):
                candidates = [keys[CacheScope.PRIVATE]] if subject else []
                for key in [*candidates, keys[CacheScope.SHARED]]:
                    entry = await self.cache.store.get(key)
                    if entry is not None:
                        metrics.CACHE.labels("hit").inc()
                        await _answer_from(entry, headers.get("if-none-match"), send, hit=True)
                        return
            expected = dict(zip(watched, await self.cache.store.generations(watched), strict=True))
        except RedisError as error:
            self.cache.failed(error)
            await self.app(scope, receive, send)
            return
        metrics.CACHE.labels("miss").inc()
        await self._fetch_and_keep(scope, receive, send, keys, subject, expected, headers.get("if-none-match"))

    async def _fetch_and_keep(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        keys: dict[CacheScope, str],
        subject: str | None,
        expected: dict[str, int],
        if_none_match: str | None,
    ) -> None:
        start: Message | None = None
        decision = None
        chunks: list[bytes] = []

        async def keeping_send(message: Message) -> None:
            nonlocal start, decision
            if message["type"] == "http.response.start":
                response_headers = Headers(raw=message.get("headers", []))
                length = response_headers.get("content-length")
                if length is not None and length.isdigit() and int(length) <= self.cache.max_bytes:
                    decision = storable(
                        status=message["status"],
                        headers=response_headers,
                        has_subject=subject is not None,
                        max_lifetime=self.cache.max_lifetime,
                    )
                if decision is None:
                    await send(message)
                else:
                    start = message
                return
            if decision is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                assert start is not None
                await self._keep(start, b"".join(chunks), decision, keys, scope, expected, if_none_match, send)

        await self.app(scope, receive, keeping_send)

    async def _keep(
        self,
        start: Message,
        body: bytes,
        decision: Any,
        keys: dict[CacheScope, str],
        scope: Scope,
        expected: dict[str, int],
        if_none_match: str | None,
        send: Send,
    ) -> None:
        raw_headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in start.get("headers", [])
            if name.lower() not in NOT_STORED_HEADERS
        ]
        response_headers = Headers(raw=start.get("headers", []))
        etag = response_headers.get("etag") or etag_for(body)
        if "etag" not in response_headers:
            raw_headers.append(("etag", etag))
        entry = Entry(
            status=start["status"],
            headers=raw_headers,
            body=body,
            etag=etag,
            stored_at=time.time(),
            lifetime=decision.lifetime,
        )
        tags = tags_of(scope["path"], response_headers.get("cache-tag"))
        try:
            stored = await self.cache.store.put(keys[decision.scope], entry, tags=tags, expected=expected)
        except RedisError as error:
            self.cache.failed(error)
            stored = False
        metrics.CACHE.labels("stored" if stored else "not-stored").inc()
        await _answer_from(entry, if_none_match, send, hit=False)


async def _answer_from(entry: Entry, if_none_match: str | None, send: Send, *, hit: bool) -> None:
    age = max(0, int(time.time() - entry.stored_at))
    extra = [(b"x-kairos-cache", b"hit" if hit else b"miss")] + ([(b"age", str(age).encode())] if hit else [])
    if matches_if_none_match(if_none_match, entry.etag):
        # RFC 9110 §15.4.5: a 304 carries the validators and caching fields a 200 would have had.
        kept = [
            (name.encode("latin-1"), value.encode("latin-1"))
            for name, value in entry.headers
            if name.lower() in ("etag", "cache-control", "expires", "date", "content-location")
        ]
        await send({"type": "http.response.start", "status": 304, "headers": kept + extra})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return
    headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in entry.headers]
    headers += [(b"content-length", str(len(entry.body)).encode()), *extra]
    await send({"type": "http.response.start", "status": entry.status, "headers": headers})
    await send({"type": "http.response.body", "body": entry.body, "more_body": False})
