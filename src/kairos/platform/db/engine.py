"""Engines and database URLs: one database per service on a shared or separate server."""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from kairos.platform.config import Settings


def service_database_name(settings: Settings, service: str) -> str:
    return f"{settings.database_prefix}{service}"


def server_url(settings: Settings) -> URL:
    if settings.database_url is None:
        raise RuntimeError("KAIROS_DATABASE_URL is not set and no embedded database was started")
    return make_url(settings.database_url.get_secret_value())


def database_url(settings: Settings, service: str, *, driver: str = "asyncpg") -> URL:
    """The URL of a service's own database on the configured server."""
    return server_url(settings).set(
        drivername=f"postgresql+{driver}", database=service_database_name(settings, service)
    )


def create_engine(url: URL, *, pool_size: int = 10, application_name: str = "kairos") -> AsyncEngine:
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args={"server_settings": {"application_name": application_name}},
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker:  # type: ignore[type-arg]
    return async_sessionmaker(engine, expire_on_commit=False)


def asyncpg_dsn(url: URL) -> str:
    """A plain DSN for asyncpg's own connections (LISTEN), from a SQLAlchemy URL."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)
