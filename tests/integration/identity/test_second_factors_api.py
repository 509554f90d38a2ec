"""A person's second factors from the web app, over real HTTP: what is set up (``GET /me/mfa``), new recovery codes
proven by a code, enrolment started from the web app and back to it (never to another site), renaming a passkey."""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from urllib.parse import quote

import httpx
import pytest

from kairos.identity.demo import DEMO_PASSWORD
from kairos.identity.domain.roles import Role
from tests.integration.identity.conftest import Authenticator, Provider, create_person, form_fields, sign_in
from tests.integration.identity.records import assert_problem, audit_records, call
from tests.integration.identity.software_authenticator import SoftAuthenticator
from tests.integration.identity.test_passkeys import origin_of, register_passkey

pytestmark = pytest.mark.integration

_addresses = (f"198.51.100.{number}" for number in itertools.count(60))


@asynccontextmanager
async def signed_in_browser(provider: Provider, email: str) -> AsyncIterator[httpx.AsyncClient]:
    """A browser whose identity session is complete (a patient: the password alone), from an address of its own."""
    async with httpx.AsyncClient(headers={"X-Forwarded-For": next(_addresses)}) as browser:
        page = await browser.get(f"{provider.issuer}/sign-in")
        signed_in = await browser.post(
            f"{provider.issuer}/sign-in", data={**form_fields(page.text), "email": email, "password": DEMO_PASSWORD}
        )
        assert signed_in.status_code == 303, signed_in.text
        yield browser


async def enrol_from_the_web_app(provider: Provider, browser: httpx.AsyncClient, next_url: str) -> tuple[str, str]:
    """Open the enrolment page as the account page links to it, confirm a first code: the hidden ``next`` of the
    page, and where the recovery codes page says to continue."""
    page = await browser.get(f"{provider.issuer}/mfa/enrol?next={quote(next_url, safe='')}")
    assert page.status_code == 200, page.text
    fields = form_fields(page.text)
    secret = re.search(r'class="secret"><code>([A-Z2-7 ]+)</code>', page.text)
    assert secret is not None
    code = Authenticator(secret.group(1).replace(" ", ""), []).code(provider.clock.now())
    confirmed = await browser.post(f"{provider.issuer}/mfa/enrol", data={**fields, "code": code})
    assert confirmed.status_code == 200, confirmed.text
    continue_to = re.search(r'<a class="button" href="([^"]+)"', confirmed.text)
    assert continue_to is not None
    return fields["next"], continue_to.group(1)


async def test_a_person_without_a_second_factor_sees_none_and_gets_no_recovery_codes(provider: Provider) -> None:
    signed_in = await sign_in(provider, await create_person(provider))

    status = await call(provider, "GET", "/me/mfa", signed_in.access_token)

    assert status.status_code == 200, status.text
    assert status.json() == {"totp_enrolled": False, "recovery_codes_left": 0, "passkeys": 0, "required": False}
    refused = await call(provider, "POST", "/me/mfa/recovery-codes", signed_in.access_token, json={"code": "123456"})
    assert_problem(refused, 409, "no-authenticator")
    assert_problem(await call(provider, "GET", "/me/mfa"), 401)


async def test_new_recovery_codes_need_a_code_and_replace_every_earlier_one(provider: Provider) -> None:
    email = await create_person(provider, Role.OPERATOR)
    signed_in = await sign_in(provider, email)  # an operator sets up an authenticator app at the first sign-in
    written_down = provider.authenticators[email].recovery_codes
    status = (await call(provider, "GET", "/me/mfa", signed_in.access_token)).json()
    assert status == {"totp_enrolled": True, "recovery_codes_left": 10, "passkeys": 0, "required": True}

    wrong = await call(provider, "POST", "/me/mfa/recovery-codes", signed_in.access_token, json={"code": "000000"})
    assert_problem(wrong, 422, "code-wrong")
    renewed = await call(
        provider, "POST", "/me/mfa/recovery-codes", signed_in.access_token, json={"code": written_down[0]}
    )

    assert renewed.status_code == 201, renewed.text
    codes = renewed.json()["codes"]
    assert len(codes) == 10
    assert not set(codes) & set(written_down)
    status = (await call(provider, "GET", "/me/mfa", signed_in.access_token)).json()
    assert status["recovery_codes_left"] == 10
    # The earlier codes are gone, not just the one used to prove the request.
    stale = await call(
        provider, "POST", "/me/mfa/recovery-codes", signed_in.access_token, json={"code": written_down[1]}
    )
    assert_problem(stale, 422, "code-wrong")
    provider.clock.advance(timedelta(seconds=30))  # a TOTP code is good once per step
    with_app = await call(
        provider,
        "POST",
        "/me/mfa/recovery-codes",
        signed_in.access_token,
        json={"code": provider.authenticators[email].code(provider.clock.now())},
    )
    assert with_app.status_code == 201, with_app.text
    assert (
        len(
            await audit_records(
                provider, data_subject=str(signed_in.user_id), action="update", resource_type="identity.recovery_codes"
            )
        )
        == 2
    )


async def test_enrolment_started_from_the_web_app_returns_to_it(provider: Provider) -> None:
    email = await create_person(provider)
    signed_in = await sign_in(provider, email)
    async with signed_in_browser(provider, email) as browser:
        hidden_next, continue_to = await enrol_from_the_web_app(provider, browser, "/account?mfa=enrolled")

    assert hidden_next == "/account?mfa=enrolled"
    assert continue_to.replace("&amp;", "&") == "/account?mfa=enrolled"
    assert (await call(provider, "GET", "/me/mfa", signed_in.access_token)).json()["totp_enrolled"] is True


@pytest.mark.parametrize(
    "outside",
    [
        "https://evil.example/account",
        "//evil.example/account",
        "/\\evil.example/account",
        "/\t/evil.example/account",
        "javascript:alert(1)",
        "account",
    ],
)
async def test_enrolment_never_continues_to_another_site(provider: Provider, outside: str) -> None:
    async with signed_in_browser(provider, await create_person(provider)) as browser:
        hidden_next, continue_to = await enrol_from_the_web_app(provider, browser, outside)

    assert hidden_next == ""
    assert continue_to == f"{provider.issuer}/signed-in"


async def test_a_passkey_is_renamed_by_its_owner_only(provider: Provider) -> None:
    owner = await sign_in(provider, await create_person(provider))
    other = await sign_in(provider, await create_person(provider))
    passkey = await register_passkey(provider, owner.access_token, SoftAuthenticator(origin=origin_of(provider)))
    path = f"/me/passkeys/{passkey['id']}"

    renamed = await call(provider, "PATCH", path, owner.access_token, json={"name": "Phone"})

    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "Phone"
    assert [item["name"] for item in (await call(provider, "GET", "/me/passkeys", owner.access_token)).json()] == [
        "Phone"
    ]
    assert (await call(provider, "GET", "/me/mfa", owner.access_token)).json()["passkeys"] == 1
    assert_problem(await call(provider, "PATCH", path, other.access_token, json={"name": "Mine"}), 404)
    assert_problem(await call(provider, "PATCH", path, owner.access_token, json={"name": ""}), 422)
    assert_problem(
        await call(provider, "PATCH", f"/me/passkeys/{uuid.uuid4()}", owner.access_token, json={"name": "x"}), 404
    )
    assert await audit_records(
        provider, data_subject=str(owner.user_id), action="update", resource_type="identity.passkey"
    )
