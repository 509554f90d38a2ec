"""The gateway's Prometheus metrics, beside the platform's request metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

from kairos.gateway.domain.breaker import BreakerState

BREAKER_STATE = Gauge(
    "kairos_gateway_breaker_state",
    "Circuit breaker of each upstream instance: 0 closed, 1 half-open, 2 open.",
    ["service", "instance"],
)
BREAKER_STATE_VALUES = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}
HEALTHY_INSTANCES = Gauge(
    "kairos_gateway_healthy_instances", "Instances of each service in rotation (health checks, ejection).", ["service"]
)
UPSTREAM_ATTEMPTS = Counter(
    "kairos_gateway_upstream_attempts_total",
    "Requests sent to an instance, by outcome: ok, failed (5xx), unreachable, broken, timeout.",
    ["service", "outcome"],
)
RETRIES = Counter("kairos_gateway_retries_total", "Idempotent requests tried again on another instance.", ["service"])
RATE_LIMITED = Counter(
    "kairos_gateway_rate_limited_total",
    "Requests over a rate limit, by rule and partition (address, user, client); dry_run=true when let through.",
    ["rule", "partition", "dry_run"],
)
FLOOD_REFUSED = Counter(
    "kairos_gateway_flood_refused_total",
    "Requests refused by flood protection: gateway (in-flight cap), address (per-address in-flight cap), "
    "slow-body, slow-headers, slow-reader (an answer not taken in time: connection dropped).",
    ["reason"],
)
CACHE = Counter(
    "kairos_gateway_cache_total",
    "Response cache events: hit, miss, stored, not-stored (changed meanwhile or store down), invalidated entries.",
    ["event"],
)
