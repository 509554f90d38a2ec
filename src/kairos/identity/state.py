"""What the identity service holds while it runs: the OAuth server, its signing keys and a sync engine."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

import jwt
import structlog
from sqlalchemy import Engine, create_engine

from kairos.identity.domain.account_tokens import MailRequestPolicy
from kairos.identity.domain.throttling import ThrottlePolicy
from kairos.identity.keys import SigningKeys
from kairos.identity.mail import MailDelivery, MailSender, sender_for
from kairos.identity.oauth import OAuthServer
from kairos.identity.passwords import PasswordHasher
from kairos.identity.repository import seal_clear_accounts
from kairos.identity.service import hasher
from kairos.identity.settings import IdentitySettings, load_identity_settings
from kairos.platform.aio import cancel_and_wait
from kairos.platform.auth.tokens import InvalidToken, TokenVerifier
from kairos.platform.clock import Clock, SystemClock
from kairos.platform.runtime import ServiceRuntime

log = structlog.get_logger(__name__)

KEY_RELOAD_SECONDS = 60.0


class LocalKeys:
    """The JWKS source of identity's own verifier: its keys in memory, no HTTP round trip to itself."""

    def __init__(self, keys: SigningKeys) -> None:
        self._keys = keys

    async def key(self, kid: str) -> jwt.PyJWK:
        for candidate in self._keys.jwks()["keys"]:
            if candidate["kid"] == kid:
                return jwt.PyJWK(candidate)
        raise InvalidToken("unknown signing key")


@dataclass
class IdentityState:
    runtime: ServiceRuntime
    sync_engine: Engine
    keys: SigningKeys
    server: OAuthServer
    verifier: TokenVerifier
    hasher: PasswordHasher
    settings: IdentitySettings
    throttle_policy: ThrottlePolicy = field(default_factory=ThrottlePolicy)
    clock: Clock = field(default_factory=SystemClock)  # what throttling and TOTP codes are judged by
    mail_request_policy: MailRequestPolicy = field(default_factory=MailRequestPolicy)
    mail_sender: MailSender | None = None  # from the settings unless set before ``start``
    mail_delivery: MailDelivery | None = None  # runs from ``start`` to ``stop``
    _reloading: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def issuer(self) -> str:
        return self.server.issuer

    @property
    def cookie_path(self) -> str:
        """Cookies of identity are sent to identity only."""
        return "/api/v1/identity"

    async def start(self) -> None:
        cipher = self.runtime.cipher
        await seal_clear_accounts(unit_of_work=self.runtime.unit_of_work)  # rows from before migration 0009
        async with self.runtime.unit_of_work() as uow:
            now = datetime.now(UTC)
            if await self.keys.ensure_active(uow.session, seal=_sealer(cipher), now=now):
                log.info("identity.signing_key_created")
            await uow.commit()
        await self.reload_keys()
        self._reloading.append(asyncio.create_task(self._reload_periodically(), name="identity-keys"))
        self.mail_delivery = MailDelivery(
            sessionmaker=self.runtime.sessionmaker,
            cipher=cipher,
            sender=self.mail_sender or sender_for(self.settings),
            clock=self.clock,
        )
        self._reloading.append(asyncio.create_task(self.mail_delivery.run(), name="identity-mail"))

    def mail_queued(self) -> None:
        """A committed transaction queued mail: deliver it now rather than at the next poll."""
        if self.mail_delivery is not None:
            self.mail_delivery.wake()

    async def reload_keys(self) -> None:
        async with self.runtime.sessionmaker() as session:
            await self.keys.load(session, unseal=_unsealer(self.runtime.cipher), now=datetime.now(UTC))

    async def _reload_periodically(self) -> None:
        while True:
            await asyncio.sleep(KEY_RELOAD_SECONDS)
            with contextlib.suppress(Exception):
                await self.reload_keys()

    async def stop(self) -> None:
        await cancel_and_wait(self._reloading)
        self.sync_engine.dispose()


def create_state(runtime: ServiceRuntime) -> IdentityState:
    keys = SigningKeys()
    issuer = runtime.settings.auth_issuer.rstrip("/")
    # A pool, not a connection per grant: opening one cost more than the grant itself (226/s against 7,700/s).
    sync_engine = create_engine(
        runtime.database_url.set(drivername="postgresql+psycopg"), pool_size=5, max_overflow=5, pool_pre_ping=True
    )
    server = OAuthServer(
        engine=sync_engine,
        keys=keys,
        issuer=issuer,
        audience=runtime.settings.auth_audience,
        cipher=lambda: runtime.cipher,
    )
    verifier = TokenVerifier(
        issuer=issuer,
        audience=runtime.settings.auth_audience,
        algorithms=runtime.settings.auth_algorithms,
        jwks=LocalKeys(keys),  # type: ignore[arg-type]
    )
    return IdentityState(
        runtime=runtime,
        sync_engine=sync_engine,
        keys=keys,
        server=server,
        verifier=verifier,
        hasher=hasher(),
        settings=load_identity_settings(),  # read now, when the service is built, not at import time
    )


def _sealer(cipher):  # type: ignore[no-untyped-def]
    async def seal(plaintext: bytes, context: bytes) -> bytes:
        return await cipher.encrypt(plaintext, context=context)  # type: ignore[no-any-return]

    return seal


def _unsealer(cipher):  # type: ignore[no-untyped-def]
    async def unseal(sealed: bytes, context: bytes) -> bytes:
        return await cipher.decrypt(sealed, context=context)  # type: ignore[no-any-return]

    return unseal
