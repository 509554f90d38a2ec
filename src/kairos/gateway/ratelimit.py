"""Rate limits at the edge, with the ``limits`` library: per source address, per user (a verified token's
``sub``) and per client (its ``client_id``), by policy rules from the settings.

Counters use the moving-window strategy: in Redis each hit is one atomic Lua script, so gateways sharing a
Redis allow exactly the limit between them, and no window boundary lets a burst of twice the limit through
(as a fixed window would). The answer carries the fields of draft-ietf-httpapi-ratelimit-headers-11
(``RateLimit-Policy`` §3, ``RateLimit`` §4) and, for the clients written against draft-06 and its many
deployments, ``RateLimit-Limit``, ``RateLimit-Remaining`` and ``RateLimit-Reset`` for the tightest limit.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import structlog
from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from redis.asyncio import ConnectionPool

from kairos.gateway import metrics
from kairos.gateway.routing import API_PREFIX, OUTSIDE_API
from kairos.platform.config import RateLimitRule, Settings, TransportKind

log = structlog.get_logger(__name__)

Partition = Literal["address", "user", "client"]
PARTITIONS: tuple[Partition, ...] = ("address", "user", "client")
# After the counters' storage fails, requests pass uncounted for this long before it is asked again: a Redis
# outage costs one timeout now and then, not one per request, and is logged as often.
STORAGE_RETRY_AFTER = 5.0


@dataclass(frozen=True)
class Limit:
    rule: str
    partition: Partition
    item: RateLimitItem
    name: str  # the quota policy's name in the RateLimit fields

    @property
    def window(self) -> int:
        return int(self.item.get_expiry())


@dataclass(frozen=True)
class Rule:
    """A configured rule with its limits parsed: ``matches`` a request, ``limits`` of each partition."""

    name: str
    path: str
    methods: frozenset[str]
    limits: dict[Partition, tuple[Limit, ...]]

    @classmethod
    def compile(cls, rule: RateLimitRule) -> Rule:
        compiled: dict[Partition, tuple[Limit, ...]] = {}
        for partition in PARTITIONS:
            notation = getattr(rule, partition)
            if not notation:
                continue
            items = parse_many(notation)  # raises ValueError on a malformed limit: the gateway does not start
            compiled[partition] = tuple(
                Limit(
                    rule=rule.name,
                    partition=partition,
                    item=item,
                    name=f"{rule.name}.{partition}" + (f".{int(item.get_expiry())}s" if len(items) > 1 else ""),
                )
                for item in items
            )
        return cls(name=rule.name, path=rule.path, methods=frozenset(rule.methods), limits=compiled)

    def matches(self, method: str, path: str) -> bool:
        return (not self.methods or method in self.methods) and path.startswith(self.path)


class Policies:
    """The rules in order; the first that matches a request is its policy. A path a service serves outside
    ``/api/`` (the FHIR facade at ``/fhir/R4/``) is also matched as that service's API path, so the rules on
    ``/api/`` or on the service's prefix limit it the same way."""

    def __init__(self, rules: Sequence[RateLimitRule]) -> None:
        names = [rule.name for rule in rules]
        if len(set(names)) != len(names):
            raise ValueError("rate-limit rule names must be unique")
        self.rules = [Rule.compile(rule) for rule in rules]

    def match(self, method: str, path: str) -> Rule | None:
        alias = None if path.startswith(API_PREFIX) else _as_api_path(path)
        for rule in self.rules:
            if rule.matches(method, path) or (alias is not None and rule.matches(method, alias)):
                return rule
        return None


def _as_api_path(path: str) -> str | None:
    """``/fhir/R4/Appointment`` → ``/api/v1/appointments/fhir/R4/Appointment``; None for other paths."""
    for prefix, service in OUTSIDE_API.items():
        if path.startswith(prefix):
            return f"{API_PREFIX}{service}{path}"
    return None


@dataclass(frozen=True)
class Verdict:
    limit: Limit
    allowed: bool
    remaining: int
    reset_after: int  # seconds until the window has room again


@dataclass
class Quota:
    """Every limit a request was counted against, and what each said."""

    verdicts: list[Verdict] = field(default_factory=list)

    @property
    def exceeded(self) -> list[Verdict]:
        return [verdict for verdict in self.verdicts if not verdict.allowed]

    @property
    def retry_after(self) -> int:
        return max((verdict.reset_after for verdict in self.exceeded), default=0) or 1

    def headers(self) -> list[tuple[str, str]]:
        if not self.verdicts:
            return []
        policies = ", ".join(f'"{v.limit.name}";q={v.limit.item.amount};w={v.limit.window}' for v in self.verdicts)
        current = ", ".join(f'"{v.limit.name}";r={v.remaining};t={v.reset_after}' for v in self.verdicts)
        tightest = min(self.verdicts, key=lambda verdict: (verdict.remaining, -verdict.reset_after))
        return [
            ("RateLimit-Policy", policies),
            ("RateLimit", current),
            ("RateLimit-Limit", str(tightest.limit.item.amount)),
            ("RateLimit-Remaining", str(tightest.remaining)),
            ("RateLimit-Reset", str(tightest.reset_after)),
        ]


class RateLimiter:
    def __init__(
        self,
        policies: Policies,
        *,
        storage: Callable[[], Storage],
        dry_run: bool = False,
        on_close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.policies = policies
        self.dry_run = dry_run
        self._make_storage = storage
        self._strategy: MovingWindowRateLimiter | None = None
        self._on_close = on_close
        self._storage_down_until = float("-inf")

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        policies = Policies(settings.gateway_rate_limits)
        kind = settings.gateway_rate_limit_storage or (
            "memory" if settings.transport == TransportKind.IN_PROCESS else "redis"
        )
        if kind == "memory":
            return cls(policies, storage=MemoryStorage, dry_run=settings.gateway_rate_limit_dry_run)
        url = settings.redis_url.get_secret_value()
        timeout = settings.gateway_rate_limit_timeout
        pool: ConnectionPool[Any] = ConnectionPool.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)

        def redis_storage() -> Storage:
            return RedisStorage(
                f"async+{url}",
                implementation="redispy",
                key_prefix=settings.gateway_rate_limit_prefix,
                wrap_exceptions=True,
                connection_pool=pool,  # type: ignore[arg-type]  # passed on to redis.asyncio.Redis
            )

        return cls(
            policies, storage=redis_storage, dry_run=settings.gateway_rate_limit_dry_run, on_close=pool.disconnect
        )

    def rule_for(self, method: str, path: str) -> Rule | None:
        return self.policies.match(method, path)

    async def count(self, rule: Rule, partition: Partition, value: str) -> list[Verdict]:
        """Count this request against the rule's limits for one partition key (an address, a subject…)."""
        verdicts: list[Verdict] = []
        if time.monotonic() < self._storage_down_until:
            return verdicts
        key = hashlib.blake2b(value.encode(), digest_size=12).hexdigest()  # no address or subject in Redis keys
        for limit in rule.limits.get(partition, ()):
            try:
                allowed = await self._limiter().hit(limit.item, rule.name, partition, key)
                stats = await self._limiter().get_window_stats(limit.item, rule.name, partition, key)
            except StorageError as error:
                # The limit cannot be known: let requests through rather than refuse everyone.
                self._storage_down_until = time.monotonic() + STORAGE_RETRY_AFTER
                log.warning("gateway.rate_limit_storage_failed", error=repr(error), retry_after=STORAGE_RETRY_AFTER)
                return verdicts
            reset_after = max(0, math.ceil(stats.reset_time - time.time()))
            verdicts.append(Verdict(limit, allowed, 0 if not allowed else stats.remaining, reset_after))
            if not allowed:
                metrics.RATE_LIMITED.labels(rule.name, partition, str(self.dry_run).lower()).inc()
                log.info("gateway.rate_limited", rule=rule.name, partition=partition, dry_run=self.dry_run)
        return verdicts

    async def aclose(self) -> None:
        if self._on_close is not None:
            await self._on_close()

    def _limiter(self) -> MovingWindowRateLimiter:
        # Built on first use, inside the event loop (the in-memory storage starts a task when created).
        if self._strategy is None:
            self._strategy = MovingWindowRateLimiter(self._make_storage())
        return self._strategy
