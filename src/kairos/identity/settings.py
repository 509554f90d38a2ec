"""Settings only the identity service reads (``KAIROS_IDENTITY_*``), beside the platform's ``Settings``."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class IdentitySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KAIROS_IDENTITY_", extra="ignore", env_ignore_empty=True)

    trust_forwarded_for: bool = Field(
        default=False,
        description="count sign-in attempts against the address the gateway saw (the last X-Forwarded-For "
        "entry) instead of the connection's peer; set it only where identity is reachable through the gateway "
        "alone (the distributed shape behind its gateway), since a client reaching identity directly could "
        "then choose its own address",
    )
