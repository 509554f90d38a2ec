"""Settings only the identity service reads (``KAIROS_IDENTITY_*``), beside the platform's ``Settings``."""

from __future__ import annotations

import os
from enum import StrEnum

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class SmtpSecurity(StrEnum):
    STARTTLS = "starttls"  # RFC 3207, usually port 587
    TLS = "tls"  # implicit TLS (RFC 8314), usually port 465
    NONE = "none"  # a relay on the same host or network only


class IdentitySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KAIROS_IDENTITY_", extra="ignore", env_ignore_empty=True)

    trust_forwarded_for: bool = Field(
        default=False,
        description="count sign-in attempts against the address the gateway saw (the last X-Forwarded-For "
        "entry) instead of the connection's peer; set it only where identity is reachable through the gateway "
        "alone (the distributed shape behind its gateway), since a client reaching identity directly could "
        "then choose its own address",
    )
    smtp_host: str | None = Field(
        default=None,
        description="the SMTP server identity sends its mails through (verification, password reset); unset, "
        "mails are written to the log instead, for development",
    )
    smtp_port: int = Field(default=587, ge=1, le=65535, description="the SMTP server's port")
    smtp_security: SmtpSecurity = Field(default=SmtpSecurity.STARTTLS, description="starttls, tls or none")
    smtp_username: str | None = Field(default=None, description="user name at the SMTP server, if it asks for one")
    smtp_password: SecretStr | None = Field(default=None, description="password at the SMTP server (a secret)")
    smtp_timeout: float = Field(default=30.0, gt=0, description="seconds an SMTP conversation may take")
    mail_from: str = Field(
        default="Kairos <no-reply@kairos.invalid>", description="the From of identity's mails (RFC 5322 mailbox)"
    )


def load_identity_settings() -> IdentitySettings:
    """The settings as the process sees them now; secrets may be files in ``KAIROS_SECRETS_DIR``
    (``kairos_identity_smtp_password``), as for the platform's settings."""
    return IdentitySettings(_secrets_dir=os.environ.get("KAIROS_SECRETS_DIR") or None)
