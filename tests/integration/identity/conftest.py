"""A running identity service for the tests of this folder, and what a person does in the browser to sign in.

Each test module gets its own provider and its own database, so a module that rotates keys or revokes
sessions cannot disturb another.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import re
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urljoin

import httpx
import pyotp
import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client
from sqlalchemy import select

from kairos.identity.demo import DEMO_PASSWORD
from kairos.identity.domain.roles import Role
from kairos.identity.service import create_client, create_user
from kairos.identity.sessions import SESSION_COOKIE
from kairos.identity.state import IdentityState
from kairos.identity.tables import organisations
from kairos.platform.aio import cancel_and_wait
from kairos.platform.config import Settings
from kairos.platform.db.engine import database_url
from kairos.platform.events.inprocess import InProcessTransport
from kairos.platform.runtime import ServiceRuntime
from kairos.platform.serve import serve
from kairos.platform.testing.infrastructure import unique_name
from kairos.services import definition

REDIRECT_URI = "http://127.0.0.1:9/callback"
PATIENT = "patient@demo.kairos.test"
DOCTOR = "doctor@harbour.demo.kairos.test"


class MovableClock:
    """The wall clock, plus however far a test has moved it on: what throttling and TOTP codes are judged by."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, by: timedelta) -> None:
        self.offset += by


@dataclass
class Authenticator:
    """A person's authenticator app, and the recovery codes they wrote down at enrolment."""

    secret: str
    recovery_codes: list[str]

    def code(self, at: datetime) -> str:
        return pyotp.TOTP(self.secret).at(at)


@dataclass
class Provider:
    issuer: str
    metadata: dict[str, str]
    web_client_id: str
    service_client_id: str
    service_client_secret: str
    runtime: ServiceRuntime
    clock: MovableClock = field(default_factory=MovableClock)
    # Authenticator apps of the people who enrolled through ``sign_in_and_authorize``, by e-mail address.
    authenticators: dict[str, Authenticator] = field(default_factory=dict)

    @property
    def identity(self) -> IdentityState:
        state: IdentityState = self.runtime.app.state.identity
        return state


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
async def provider(base_settings: Settings) -> AsyncIterator[Provider]:
    async with running_provider(base_settings) as running:
        yield running


@contextlib.asynccontextmanager
async def running_provider(
    base_settings: Settings, *, configure: Callable[[IdentityState], None] | None = None
) -> AsyncIterator[Provider]:
    """Identity on its own database and port, demo data loaded; ``configure`` adjusts its state before it starts."""
    port = _free_port()
    issuer = f"http://127.0.0.1:{port}/api/v1/identity"
    settings = base_settings.model_copy(
        update={
            "auth_issuer": issuer,
            "auth_jwks_url": None,
            "database_prefix": f"{base_settings.database_prefix}{unique_name('oidc')}_",
        }
    )
    runtime = ServiceRuntime(
        definition("identity"),
        settings=settings,
        database_url=database_url(settings, "identity"),
        transport=InProcessTransport(),
    )
    clock = MovableClock()
    runtime.app.state.identity.clock = clock
    if configure is not None:
        configure(runtime.app.state.identity)
    await runtime.migrate()
    assert await runtime.seed_demo()
    async with runtime.unit_of_work() as uow:
        web = await create_client(
            uow=uow,
            name="Kairos web",
            grant_types=frozenset({"authorization_code", "refresh_token"}),
            redirect_uris=(REDIRECT_URI,),
            post_logout_redirect_uris=("http://127.0.0.1:9/signed-out",),
            public=True,
            first_party=True,
        )
        service = await create_client(
            uow=uow, name="Reporting", grant_types=frozenset({"client_credentials"}), scopes=("system/*.read",)
        )
        await uow.commit()
    await runtime.start()
    stop = asyncio.Event()
    serving = asyncio.create_task(serve(runtime.app, host="127.0.0.1", port=port, stop=stop))
    async with httpx.AsyncClient() as client:
        for _ in range(100):
            try:
                response = await client.get(f"{issuer}/.well-known/openid-configuration")
                break
            except httpx.ConnectError:
                await asyncio.sleep(0.05)
    assert service.client_secret is not None
    try:
        yield Provider(issuer, response.json(), web.client_id, service.client_id, service.client_secret, runtime, clock)
    finally:
        stop.set()
        await serving
        await cancel_and_wait([serving])
        await runtime.stop()


async def sign_in_and_authorize(provider: Provider, browser: httpx.AsyncClient, url: str, email: str) -> str:
    """What a person does in the browser: follow the redirect to sign in, then back to the client."""
    to_sign_in = await browser.get(url)
    assert to_sign_in.status_code == 303, to_sign_in.text
    page = await browser.get(urljoin(str(to_sign_in.url), to_sign_in.headers["location"]))
    assert page.status_code == 200
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    next_url = re.search(r'name="next" value="([^"]+)"', page.text)
    assert csrf is not None
    assert next_url is not None
    signed_in = await browser.post(
        f"{provider.issuer}/sign-in",
        data={
            "email": email,
            "password": DEMO_PASSWORD,
            "csrf_token": csrf.group(1),
            "next": next_url.group(1).replace("&amp;", "&"),
        },
    )
    assert signed_in.status_code == 303, signed_in.text
    after_password = urljoin(str(signed_in.url), signed_in.headers["location"])
    if "/mfa/enrol" in after_password:
        after_password = await enrol_authenticator(provider, browser, after_password, email)
    elif "/sign-in/code" in after_password:
        after_password = await answer_code(provider, browser, after_password, email)
    back = await browser.get(after_password)
    assert back.status_code == 302, back.text
    location: str = back.headers["location"]
    return location


async def enrol_authenticator(provider: Provider, browser: httpx.AsyncClient, url: str, email: str) -> str:
    """Set up an authenticator app from the enrolment page (the key shown in text), confirm it with its first
    code, note the recovery codes; where the page says to continue."""
    page = await browser.get(url)
    assert page.status_code == 200, page.text
    secret = re.search(r'class="secret"><code>([A-Z2-7 ]+)</code>', page.text)
    assert secret is not None
    authenticator = Authenticator(secret.group(1).replace(" ", ""), [])
    confirmed = await browser.post(
        urljoin(url, "enrol"),
        data={**form_fields(page.text), "code": authenticator.code(provider.clock.now())},
    )
    assert confirmed.status_code == 200, confirmed.text
    authenticator.recovery_codes = re.findall(r"<li><code>([0-9a-z-]+)</code></li>", confirmed.text)
    provider.authenticators[email] = authenticator
    continue_to = re.search(r'<a class="button" href="([^"]+)"', confirmed.text)
    assert continue_to is not None
    return urljoin(url, html.unescape(continue_to.group(1)))


async def answer_code(provider: Provider, browser: httpx.AsyncClient, url: str, email: str) -> str:
    """Type the code the authenticator app shows (the clock moved to a new step first: a code is good once)."""
    page = await browser.get(url)
    assert page.status_code == 200, page.text
    provider.clock.advance(timedelta(seconds=30))
    answered = await browser.post(
        urljoin(url, "code"),
        data={**form_fields(page.text), "code": provider.authenticators[email].code(provider.clock.now())},
    )
    assert answered.status_code == 303, answered.text
    return urljoin(url, answered.headers["location"])


def form_fields(page: str) -> dict[str, str]:
    """The hidden fields of a form on the page (CSRF token, next)."""
    return {
        name: html.unescape(value) for name, value in re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', page)
    }


def web_client(provider: Provider) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=provider.web_client_id,
        redirect_uri=REDIRECT_URI,
        scope="openid profile email offline_access",
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
    )


@dataclass(frozen=True)
class SignedIn:
    """A person signed in to the web app: their tokens, and the browser session they were obtained in."""

    email: str
    user_id: uuid.UUID
    session_id: uuid.UUID
    access_token: str
    refresh_token: str
    id_token: str
    session_cookie: str

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


async def sign_in(provider: Provider, email: str, *, user_agent: str = "pytest-browser") -> SignedIn:
    """Sign in through the browser and the web client (authorization code + PKCE), as the web app does."""
    verifier = generate_token(64)
    async with web_client(provider) as client, httpx.AsyncClient(headers={"User-Agent": user_agent}) as browser:
        url, _ = client.create_authorization_url(provider.metadata["authorization_endpoint"], code_verifier=verifier)
        callback = await sign_in_and_authorize(provider, browser, url, email)
        token = await client.fetch_token(
            provider.metadata["token_endpoint"], authorization_response=callback, code_verifier=verifier
        )
        cookie = browser.cookies.get(SESSION_COOKIE)
    assert cookie is not None
    async with httpx.AsyncClient() as client:
        info = await client.get(
            provider.metadata["userinfo_endpoint"], headers={"Authorization": f"Bearer {token['access_token']}"}
        )
    return SignedIn(
        email=email,
        user_id=uuid.UUID(info.json()["sub"]),
        session_id=uuid.UUID(cookie.partition(".")[0]),
        access_token=token["access_token"],
        refresh_token=token["refresh_token"],
        id_token=token["id_token"],
        session_cookie=cookie,
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def create_person(provider: Provider, *roles: Role, organisation: str | None = None) -> str:
    """A new account with the demo password, for a test that must not share its sessions; its e-mail."""
    email = f"{unique_name('person-')}@example.org"
    organisation_id = (await organisation_ids(provider))[organisation] if organisation else None
    async with provider.runtime.unit_of_work() as uow:
        await create_user(
            uow=uow,
            email=email,
            password=DEMO_PASSWORD,
            display_name="Test Person",
            roles=frozenset(roles or (Role.PATIENT,)),
            organisation_id=organisation_id,
            email_verified=True,
        )
        await uow.commit()
    return email


async def organisation_ids(provider: Provider) -> dict[str, uuid.UUID]:
    """The demo organisations' ids: ``harbour`` (the medical practice) and ``lindqvist`` (the law firm)."""
    async with provider.runtime.sessionmaker() as session:
        rows = await session.execute(select(organisations.c.name, organisations.c.id))
        by_name: dict[str, uuid.UUID] = {row.name: row.id for row in rows}
    return {"harbour": by_name["Harbour Medical Practice"], "lindqvist": by_name["Lindqvist & Rao Law"]}
