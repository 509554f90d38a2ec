"""Settings only the appointments service reads (``KAIROS_APPOINTMENTS_*``), beside the platform's ``Settings``."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class AppointmentsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KAIROS_APPOINTMENTS_", extra="ignore", env_ignore_empty=True)

    calendar_refresh_minutes: float = Field(
        default=30.0, gt=0, description="how often an imported iCalendar URL is fetched again"
    )
    calendar_fetch_timeout: float = Field(
        default=10.0, gt=0, description="seconds an iCalendar URL may take to connect and to answer"
    )
    calendar_max_bytes: int = Field(
        default=2_000_000, ge=1024, description="largest iCalendar file or URL body read (bytes)"
    )
    calendar_allow_private_addresses: bool = Field(
        default=False,
        description="let iCalendar URLs point at loopback, private, link-local or other non-public addresses "
        "(off: refused, so that a URL cannot reach the service's own network)",
    )
    calendar_import_days: int = Field(
        default=180, ge=1, le=730, description="how far ahead busy time is read from an imported calendar"
    )
    live_heartbeat_seconds: float = Field(
        default=15.0, gt=0, description="seconds between keep-alive comments on a live slot stream"
    )
    grpc_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="port of the gRPC interface (slot search and holds, for internal callers); unset: the base "
        "port + 102 (8102), 0: no gRPC server",
    )
    grpc_grace_seconds: float = Field(
        default=5.0, ge=0, description="seconds calls in progress may take to finish when the gRPC server stops"
    )
    bulk_change_max_resources: int = Field(
        default=500, ge=1, description="most resources one bulk availability change may touch"
    )
