"""The all-in-one shape: every service in one process behind the gateway on one port.

An embedded PostgreSQL (unless ``KAIROS_DATABASE_URL`` names a server) holds one database per service;
events go through each service's outbox and the in-process transport, so domain code is the same as in
the distributed shape.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator

import structlog
from pydantic import SecretStr

from kairos.gateway.proxy import AsgiUpstream
from kairos.platform.auth.tokens import JwksCache, TokenVerifier
from kairos.platform.config import Settings, TransportKind
from kairos.platform.crypto.keyring import load_keyring
from kairos.platform.db.embedded import EmbeddedPostgres
from kairos.platform.db.engine import database_url
from kairos.platform.events.inprocess import InProcessTransport
from kairos.platform.runtime import ServiceRuntime
from kairos.platform.serve import serve
from kairos.services import all_definitions

log = structlog.get_logger(__name__)


@contextlib.contextmanager
def database_server(settings: Settings) -> Iterator[Settings]:
    """Settings pointing at a PostgreSQL server: the configured one, or the embedded one started here
    (which means the all-in-one shape, so events stay in-process)."""
    if settings.database_url is not None:
        yield settings
        return
    keyring = load_keyring(settings)  # before the URL is filled in: the development keyring, if none is set
    embedded = EmbeddedPostgres(settings.data_dir)
    url = embedded.start()
    try:
        yield settings.model_copy(
            update={
                "database_url": SecretStr(url.render_as_string(hide_password=False)),
                "transport": TransportKind.IN_PROCESS,
                "encryption_keys": SecretStr(keyring.to_json()),
            }
        )
    finally:
        embedded.stop()


class AllInOne:
    """Every service's runtime, wired to one in-process transport, the gateway routing to the others."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings.model_copy(update={"transport": TransportKind.IN_PROCESS})
        self.transport = InProcessTransport(retry_delays=self.settings.event_retry_delays)
        verifier = TokenVerifier(
            issuer=self.settings.auth_issuer,
            audience=self.settings.auth_audience,
            algorithms=self.settings.auth_algorithms,
            jwks=JwksCache(self.settings.jwks_url, max_age=self.settings.auth_jwks_cache_seconds),
        )
        self.runtimes = {
            definition.name: ServiceRuntime(
                definition,
                settings=self.settings,
                database_url=database_url(self.settings, definition.name),
                transport=self.transport,
                verifier=verifier,
            )
            for definition in all_definitions()
        }
        self.gateway = self.runtimes["gateway"]
        for name, runtime in self.runtimes.items():
            if name != "gateway":
                self.gateway.app.state.routes.route(name, AsgiUpstream(runtime.app))
                for check, probe in runtime.checks().items():
                    self.gateway.extra_checks[f"{name}.{check}"] = probe

    async def migrate(self) -> None:
        for runtime in self.runtimes.values():
            await runtime.migrate()

    async def seed_demo(self) -> list[str]:
        """Load each service's demo data, once per database; return the services that loaded it now."""
        return [name for name, runtime in self.runtimes.items() if await runtime.seed_demo()]

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[AllInOne]:
        await self.transport.start()
        started: list[ServiceRuntime] = []
        try:
            for runtime in self.runtimes.values():
                await runtime.start()
                started.append(runtime)
            yield self
        finally:
            for runtime in reversed(started):
                await runtime.stop()
            await self.transport.stop()


async def run_all_in_one(
    settings: Settings, *, stop: asyncio.Event, on_ready: Callable[[str], None] | None = None
) -> None:
    with database_server(settings) as resolved:
        system = AllInOne(resolved)
        await system.migrate()
        await system.seed_demo()
        async with system.running():
            host, port = resolved.host, resolved.service_port("gateway")
            # localhost, the host the default issuer names: the sign-in cookies and passkeys belong to it.
            loopback = host in ("0.0.0.0", "::", "127.0.0.1", "::1")  # noqa: S104
            url = f"http://{'localhost' if loopback else host}:{port}/"
            serving = asyncio.create_task(serve(system.gateway.app, host=host, port=port, stop=stop))
            await asyncio.sleep(0.2)
            if not serving.done() and on_ready is not None:
                on_ready(url)
            await serving
