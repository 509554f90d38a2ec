"""Settings read from the environment (``KAIROS_*``) and from secret files.

One ``Settings`` object per process; services that need more subclass it. Nothing is read at import
time: call ``load_settings`` in the composition root.
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from pydantic import Field, SecretStr, field_validator, model_validator
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
    service_urls: dict[str, str] = Field(
        default_factory=dict,
        description='where the gateway finds each service, JSON: {"appointments": "http://10.0.0.5:8002"}',
    )

    @model_validator(mode="after")
    def _default_issuer(self) -> Settings:
        if not self.auth_issuer:
            self.auth_issuer = f"http://127.0.0.1:{self.base_port}/api/v1/identity"
        return self

    @field_validator("service_urls", mode="before")
    @classmethod
    def _no_none(cls, value: Any) -> Any:
        return value or {}

    def default_port(self, service: str) -> int:
        return self.base_port + SERVICES.index(service)

    def service_port(self, service: str) -> int:
        return self.port if self.port is not None else self.default_port(service)

    def service_url(self, service: str) -> str:
        return self.service_urls.get(service, f"http://127.0.0.1:{self.default_port(service)}")

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
