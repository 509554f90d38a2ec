"""Settings read from the environment (``KAIROS_*``) and from secret files.

One ``Settings`` object per process; services that need more subclass it. Nothing is read at import
time: call ``load_settings`` in the composition root.
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICES: tuple[str, ...] = (
    "gateway",
    "identity",
    "appointments",
    "chat",
    "notifications",
    "documents",
    "assistant",
    "monitoring",
)

DEFAULT_BASE_PORT = 8000


class TransportKind(StrEnum):
    IN_PROCESS = "inprocess"
    RABBITMQ = "rabbitmq"


class LogFormat(StrEnum):
    JSON = "json"
    CONSOLE = "console"


class RateLimitRule(BaseModel):
    """One rate-limit policy of the gateway: the first rule whose methods and path prefix match a request
    applies. Limits are in the ``limits`` library's notation ("60/minute", "10/second;600/hour")."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    path: str = Field(default="/", pattern=r"^/")
    methods: tuple[str, ...] = ()  # empty: every method
    address: str | None = None  # per source address
    user: str | None = None  # per verified token subject
    client: str | None = None  # per verified token client_id

    @field_validator("methods")
    @classmethod
    def _upper(cls, methods: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(method.upper() for method in methods)


DEFAULT_RATE_LIMITS: tuple[RateLimitRule, ...] = (
    RateLimitRule(name="sign-in", path="/api/v1/identity/sign-in", methods=("POST",), address="60/minute"),
    RateLimitRule(name="token", path="/api/v1/identity/token", methods=("POST",), address="60/minute"),
    RateLimitRule(name="reads", path="/api/", methods=("GET", "HEAD"), address="600/minute", user="600/minute"),
    RateLimitRule(name="writes", path="/api/", address="120/minute", user="120/minute"),
)


class Settings(BaseSettings):
    """Every setting a Kairos process reads; see the README for each one."""

    model_config = SettingsConfigDict(
        env_prefix="KAIROS_",
        extra="ignore",
        env_ignore_empty=True,  # KAIROS_X= (empty) means "not set", as operators expect
    )

    host: str = Field(default="127.0.0.1", description="address the HTTP server binds to")
    base_port: int = Field(
        default=DEFAULT_BASE_PORT,
        ge=1,
        le=65000,
        description="the gateway's port; the other services follow it (+1 identity … +7 monitoring)",
    )
    port: int | None = Field(default=None, description="HTTP port of this process; overrides base_port")

    database_url: SecretStr | None = Field(
        default=None,
        description="PostgreSQL server URL (postgresql://user:password@host:port). Unset in the "
        "all-in-one shape: an embedded PostgreSQL is started instead.",
    )
    database_prefix: str = Field(default="kairos_", description="prefix of the per-service database names")
    database_pool_size: int = Field(default=10, ge=1, description="connections per service (and as many overflow)")
    data_dir: Path = Field(default=Path(".kairos"), description="local state: embedded database, files")
    encryption_keys: SecretStr | None = Field(
        default=None,
        description='key-encryption keys, JSON: {"active": "k2", "keys": {"k1": "<base64 of 32 bytes>", …}}. '
        "Unset with the embedded database: generated once into <data_dir>/secrets/encryption-keys.json",
    )

    transport: TransportKind = Field(default=TransportKind.RABBITMQ, description="event transport")
    rabbitmq_url: SecretStr = Field(
        default=SecretStr("amqp://guest:guest@127.0.0.1:5672/"), description="RabbitMQ, vhost included"
    )
    rabbitmq_exchange: str = Field(default="kairos.events", description="the topic exchange of integration events")
    event_retry_delays: tuple[float, ...] = Field(
        default=(1.0, 5.0, 30.0, 120.0),
        description="seconds before each retry of a failed event handler; then the event is parked",
    )
    event_prefetch: int = Field(default=64, ge=1, description="unacknowledged events a consumer may hold")
    outbox_poll_interval: float = Field(default=1.0, gt=0, description="relay polling fallback, seconds")
    outbox_batch_size: int = Field(default=200, ge=1, description="events a relay publishes per transaction")
    outbox_retention_hours: float = Field(default=72.0, gt=0, description="how long published events are kept")

    redis_url: SecretStr = Field(
        default=SecretStr("redis://127.0.0.1:6379/0"),
        description="Redis of the distributed shape (reserved: the gateway's rate limits and cache)",
    )

    auth_issuer: str = Field(
        default="", description="token issuer; defaults to the identity service behind this machine's gateway"
    )
    auth_jwks_url: str | None = Field(default=None, description="JWKS URL; defaults to <issuer>/jwks")
    auth_audience: str = Field(default="kairos", description="audience every access token must carry")
    auth_algorithms: tuple[str, ...] = Field(
        default=("RS256", "ES256", "EdDSA"), description="signature algorithms accepted (asymmetric only)"
    )
    auth_jwks_cache_seconds: float = Field(default=300.0, gt=0, description="how long the issuer's keys are cached")

    max_request_bytes: int = Field(default=1_048_576, ge=1024, description="largest accepted request body")
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR")
    log_format: LogFormat = Field(default=LogFormat.JSON, description="json (one object a line) or console")
    otel_exporter_endpoint: str | None = Field(
        default=None, description="OTLP/HTTP endpoint for traces; unset keeps traces in-process only"
    )
    service_urls: dict[str, tuple[str, ...]] = Field(
        default_factory=dict,
        description="where the gateway finds each service's instances, JSON: "
        '{"appointments": ["http://10.0.0.5:8002", "http://10.0.0.6:8002"], "chat": "http://chat:8003"}',
    )
    public_url: str | None = Field(
        default=None, description="the gateway's URL as clients see it; https turns on HSTS for every response"
    )

    gateway_balancer: Literal["round-robin", "least-outstanding"] = Field(
        default="least-outstanding", description="how the gateway spreads requests over a service's instances"
    )
    gateway_upstream_timeout: float = Field(
        default=30.0, gt=0, description="seconds an instance may take to start answering, and may pause while streaming"
    )
    gateway_route_timeouts: dict[str, float] = Field(
        default_factory=dict,
        description='per-route upstream timeouts by path prefix (longest wins), JSON: {"/api/v1/documents/": 120}',
    )
    gateway_connect_timeout: float = Field(default=2.0, gt=0, description="seconds to connect to an instance")
    gateway_retries: int = Field(
        default=2, ge=0, description="further instances an idempotent request may be tried on after a failure"
    )
    gateway_health_interval: float = Field(default=5.0, gt=0, description="seconds between active health checks")
    gateway_health_timeout: float = Field(default=2.0, gt=0, description="seconds a health check may take")
    gateway_healthy_threshold: int = Field(
        default=2, ge=1, description="consecutive passed checks that put an instance back in rotation"
    )
    gateway_unhealthy_threshold: int = Field(
        default=2, ge=1, description="consecutive failed checks that take an instance out of rotation"
    )
    gateway_eject_after: int = Field(
        default=5, ge=1, description="consecutive connection failures or 5xx answers that eject an instance"
    )
    gateway_breaker_failures: int = Field(
        default=5, ge=1, description="consecutive failures that open an instance's circuit breaker"
    )
    gateway_breaker_reset_seconds: float = Field(
        default=10.0, gt=0, description="seconds an open breaker waits before letting one trial request through"
    )
    gateway_rate_limits: tuple[RateLimitRule, ...] = Field(
        default=DEFAULT_RATE_LIMITS, description="rate-limit policies, first match wins (see the README)"
    )
    gateway_rate_limit_storage: Literal["memory", "redis"] | None = Field(
        default=None,
        description="where rate-limit counters live; unset: in memory with the in-process transport (all-in-one), "
        "else in Redis",
    )
    gateway_rate_limit_prefix: str = Field(
        default="kairos:ratelimit", min_length=1, description="prefix of the rate-limit keys in Redis"
    )
    gateway_rate_limit_dry_run: bool = Field(
        default=False, description="log requests over a limit instead of refusing them"
    )
    gateway_rate_limit_timeout: float = Field(
        default=1.0, gt=0, description="seconds a rate-limit call to Redis may take; beyond, let through"
    )
    gateway_cors_origins: tuple[str, ...] = Field(
        default=(), description='origins allowed to call the API from a browser, JSON: ["https://app.example"]'
    )
    gateway_content_security_policy: str = Field(
        default="frame-ancestors 'none'; base-uri 'self'; object-src 'none'",
        description="Content-Security-Policy added to every HTML response of the gateway",
    )
    gateway_max_in_flight: int = Field(
        default=1024, ge=1, description="requests the gateway serves at once; beyond, a 503 problem"
    )
    gateway_max_in_flight_per_address: int = Field(
        default=128, ge=1, description="requests one source address may have in progress at once; beyond, a 429"
    )
    gateway_send_timeout: float = Field(
        default=30.0, gt=0, description="seconds a client may take to read the next part of an answer; beyond, dropped"
    )
    gateway_body_timeout: float = Field(
        default=30.0, gt=0, description="seconds a request body may take to arrive in full; beyond, a 408 problem"
    )
    gateway_header_timeout: float = Field(
        default=10.0, gt=0, description="seconds a request's headers may take to arrive; beyond, 408 and closed"
    )
    gateway_openapi_cache_seconds: float = Field(
        default=30.0, ge=0, description="seconds the combined OpenAPI document at /api/openapi.json is kept"
    )
    gateway_cache_storage: Literal["memory", "redis", "off"] | None = Field(
        default=None,
        description="where cacheable GET answers are kept; unset: in memory with the in-process transport "
        "(all-in-one), else in Redis; off: no caching",
    )
    gateway_cache_prefix: str = Field(
        default="kairos:cache", min_length=1, description="prefix of the response cache's keys in Redis"
    )
    gateway_cache_max_bytes: int = Field(default=262_144, ge=0, description="largest answer body the cache keeps")
    gateway_cache_max_seconds: int = Field(
        default=300, ge=1, description="longest time an answer is kept, whatever its max-age"
    )
    gateway_view_part_timeout: float = Field(
        default=5.0, gt=0, description="seconds each part of a composite view may take before it is marked unavailable"
    )
    gateway_dns_services: dict[str, str] = Field(
        default_factory=dict,
        description="services whose instances are the addresses of a DNS name, re-resolved on an interval, JSON: "
        '{"appointments": "http://appointments-headless.kairos.svc.cluster.local:8002"}; wins over service_urls',
    )
    gateway_dns_interval: float = Field(default=10.0, gt=0, description="seconds between DNS resolutions")
    gateway_max_connections: int = Field(
        default=4096, ge=1, description="open client connections (WebSockets included); beyond, a plain 503"
    )

    @model_validator(mode="after")
    def _default_issuer(self) -> Settings:
        if not self.auth_issuer:
            # A host name, not an address: browsers refuse passkeys (WebAuthn) for an IP address.
            self.auth_issuer = f"http://localhost:{self.base_port}/api/v1/identity"
        return self

    @field_validator("service_urls", mode="before")
    @classmethod
    def _instances(cls, value: Any) -> Any:
        """A single URL is one instance; a list is several (backwards compatible with ``{"chat": "http://…"}``)."""
        if not value:
            return {}
        if isinstance(value, dict):
            return {service: (urls,) if isinstance(urls, str) else urls for service, urls in value.items()}
        return value

    @field_validator("service_urls")
    @classmethod
    def _at_least_one_instance(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        empty = sorted(service for service, urls in value.items() if not urls)
        if empty:
            raise ValueError(f"no instance URL for {', '.join(empty)}")
        return value

    def default_port(self, service: str) -> int:
        return self.base_port + SERVICES.index(service)

    def service_port(self, service: str) -> int:
        return self.port if self.port is not None else self.default_port(service)

    def service_url(self, service: str) -> str:
        return self.service_instances(service)[0]

    def service_instances(self, service: str) -> tuple[str, ...]:
        """The URLs of every instance of ``service``: configured, else the one on this machine's default port."""
        return self.service_urls.get(service) or (f"http://127.0.0.1:{self.default_port(service)}",)

    @property
    def jwks_url(self) -> str:
        return self.auth_jwks_url or f"{self.auth_issuer.rstrip('/')}/jwks"


SettingsT = TypeVar("SettingsT", bound=Settings)


def load_settings(settings_class: type[SettingsT] = Settings, **overrides: Any) -> SettingsT:  # type: ignore[assignment]
    """Read the settings now (not at import time); keyword overrides win over the environment.

    Secrets may come from files instead of the environment: a directory named by ``KAIROS_SECRETS_DIR``
    (Kubernetes or Docker secrets) holding one file per setting, named like the variable
    (``kairos_database_url``); the environment wins over a file.
    """
    secrets_dir = os.environ.get("KAIROS_SECRETS_DIR") or None
    return settings_class(_secrets_dir=secrets_dir, **overrides)
