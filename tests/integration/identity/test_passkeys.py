"""Passkeys over real HTTP with a software authenticator (``software_authenticator.py``): registration on the
account API, then as the second step after a password and alone without one; and what must be refused —
another origin, a replayed challenge, a signature by a key not registered, a cloned authenticator's counter."""

from __future__ import annotations

import html
import re
import uuid
from typing import Any
from urllib.parse import urljoin

import httpx
import jwt
import pytest
from authlib.common.security import generate_token
from sqlalchemy import select

from kairos.identity.api import CSRF_COOKIE
from kairos.identity.demo import DEMO_PASSWORD
from kairos.identity.domain.roles import Role
from kairos.identity.sessions import SESSION_COOKIE
from kairos.identity.tables import browser_sessions, passkeys
from tests.integration.identity.conftest import Provider, create_person, form_fields, sign_in, web_client
from tests.integration.identity.records import assert_problem, call
from tests.integration.identity.software_authenticator import SoftAuthenticator

pytestmark = pytest.mark.integration


def origin_of(provider: Provider) -> str:
    return provider.issuer.split("/api/")[0]


async def register_passkey(provider: Provider, token: str, authenticator: SoftAuthenticator) -> dict[str, Any]:
    options = await call(provider, "POST", "/me/passkeys/registration-options", token)
    assert options.status_code == 200, options.text
    ceremony = options.json()
    created = await call(
        provider,
        "POST",
        "/me/passkeys",
        token,
        json={
            "challenge_id": ceremony["challenge_id"],
            "name": "Laptop",
            "credential": authenticator.create(ceremony["public_key"]),
        },
    )
    assert created.status_code == 201, created.text
    return dict(created.json())


async def password_step(provider: Provider, browser: httpx.AsyncClient, email: str) -> httpx.Response:
    page = await browser.get(f"{provider.issuer}/sign-in")
    return await browser.post(
        f"{provider.issuer}/sign-in", data={**form_fields(page.text), "email": email, "password": DEMO_PASSWORD}
    )


async def csrf_for(provider: Provider, browser: httpx.AsyncClient) -> dict[str, str]:
    if browser.cookies.get(CSRF_COOKIE) is None:
        await browser.get(f"{provider.issuer}/sign-in")
    return {"X-CSRF-Token": browser.cookies[CSRF_COOKIE]}


async def passkey_ceremony(
    provider: Provider, browser: httpx.AsyncClient, answer: Any, *, csrf: dict[str, str] | None = None
) -> httpx.Response:
    headers = csrf if csrf is not None else await csrf_for(provider, browser)
    options = await browser.post(f"{provider.issuer}/sign-in/passkey/options", headers=headers)
    assert options.status_code == 200, options.text
    ceremony = options.json()
    return await browser.post(
        f"{provider.issuer}/sign-in/passkey",
        headers=headers,
        json={"challenge_id": ceremony["challenge_id"], "credential": answer(ceremony["public_key"])},
    )


async def session_of(provider: Provider, browser: httpx.AsyncClient) -> Any:
    cookie = browser.cookies.get(SESSION_COOKIE)
    assert cookie is not None
    async with provider.runtime.sessionmaker() as session:
        return (
            await session.execute(
                select(browser_sessions).where(browser_sessions.c.id == uuid.UUID(cookie.partition(".")[0]))
            )
        ).first()


async def test_a_registered_passkey_is_listed_and_becomes_the_second_step_after_the_password(
    provider: Provider,
) -> None:
    email = await create_person(provider)
    signed_in = await sign_in(provider, email)
    authenticator = SoftAuthenticator(origin=origin_of(provider))
    registered = await register_passkey(provider, signed_in.access_token, authenticator)
    assert registered["name"] == "Laptop"
    assert registered["transports"] == ["hybrid", "internal"]
    listed = await call(provider, "GET", "/me/passkeys", signed_in.access_token)
    assert [item["id"] for item in listed.json()] == [registered["id"]]

    async with httpx.AsyncClient() as browser:
        after_password = await password_step(provider, browser, email)
        assert after_password.status_code == 303
        assert "/sign-in/code" in after_password.headers["location"]
        assert (await session_of(provider, browser)).pending_step == "code"
        answered = await passkey_ceremony(provider, browser, authenticator.get)
        assert answered.status_code == 200, answered.text
        assert answered.json()["location"].endswith("/signed-in")
        session = await session_of(provider, browser)
    assert session.pending_step is None
    assert list(session.methods) == ["pwd", "hwk"]
    async with provider.runtime.sessionmaker() as db:
        counter = await db.scalar(select(passkeys.c.sign_count).where(passkeys.c.id == uuid.UUID(registered["id"])))
    assert counter == 1


async def test_a_registration_from_another_origin_or_replayed_is_refused(provider: Provider) -> None:
    signed_in = await sign_in(provider, await create_person(provider))
    authenticator = SoftAuthenticator(origin=origin_of(provider))
    options = (await call(provider, "POST", "/me/passkeys/registration-options", signed_in.access_token)).json()
    phished = authenticator.create(options["public_key"], origin="https://kairos.example.net")
    body = {"challenge_id": options["challenge_id"], "name": "Phished", "credential": phished}
    assert_problem(await call(provider, "POST", "/me/passkeys", signed_in.access_token, json=body), 422)
    # The challenge was used by that attempt: even a good answer to it is refused now.
    body["credential"] = authenticator.create(options["public_key"])
    assert_problem(await call(provider, "POST", "/me/passkeys", signed_in.access_token, json=body), 422)
    assert (await call(provider, "GET", "/me/passkeys", signed_in.access_token)).json() == []


async def test_an_assertion_that_does_not_check_out_completes_nothing(provider: Provider) -> None:
    email = await create_person(provider)
    signed_in = await sign_in(provider, email)
    authenticator = SoftAuthenticator(origin=origin_of(provider))
    await register_passkey(provider, signed_in.access_token, authenticator)
    stranger = SoftAuthenticator(origin=origin_of(provider))
    stranger.create({"rp": {"id": "127.0.0.1"}, "user": {"id": "AA"}, "challenge": "AA"})
    stolen_id = authenticator.credentials[0].credential_id
    async with httpx.AsyncClient() as elsewhere:  # the passkey used once: its counter is at 1
        assert (await passkey_ceremony(provider, elsewhere, authenticator.get)).status_code == 200
    async with httpx.AsyncClient() as browser:
        await password_step(provider, browser, email)

        def forged(options: dict[str, Any]) -> dict[str, Any]:
            # Signed by a key that is not the registered one, under the registered credential's id.
            stranger.credentials[0].credential_id = stolen_id
            stranger.credentials[0].sign_count = 10  # ahead of the counter: only the signature can give it away
            return stranger.get(options, credential=stranger.credentials[0])

        refused = await passkey_ceremony(provider, browser, forged)
        assert_problem(refused, 422, "passkey-refused")
        assert "signature" in refused.json()["detail"].lower()

        def cloned(options: dict[str, Any]) -> dict[str, Any]:
            authenticator.credentials[0].sign_count = 0  # a copy whose counter lags the original's (it sends 1)
            return authenticator.get(options)

        refused = await passkey_ceremony(provider, browser, cloned)
        assert_problem(refused, 422, "passkey-refused")
        assert "sign count" in refused.json()["detail"].lower()

        def other_origin(options: dict[str, Any]) -> dict[str, Any]:
            return authenticator.get(options, origin="https://kairos.example.net")

        refused = await passkey_ceremony(provider, browser, other_origin)
        assert_problem(refused, 422, "passkey-refused")
        assert "origin" in refused.json()["detail"].lower()
        assert (await session_of(provider, browser)).pending_step == "code"
        missing_csrf = await browser.post(f"{provider.issuer}/sign-in/passkey/options")
        assert_problem(missing_csrf, 403)


async def test_a_challenge_is_good_once(provider: Provider) -> None:
    email = await create_person(provider)
    signed_in = await sign_in(provider, email)
    authenticator = SoftAuthenticator(origin=origin_of(provider))
    await register_passkey(provider, signed_in.access_token, authenticator)
    async with httpx.AsyncClient() as browser:
        await password_step(provider, browser, email)
        headers = await csrf_for(provider, browser)
        ceremony = (await browser.post(f"{provider.issuer}/sign-in/passkey/options", headers=headers)).json()
        answer = {"challenge_id": ceremony["challenge_id"], "credential": authenticator.get(ceremony["public_key"])}
        first = await browser.post(f"{provider.issuer}/sign-in/passkey", headers=headers, json=answer)
        assert first.status_code == 200, first.text
    async with httpx.AsyncClient() as elsewhere:
        replayed = await elsewhere.post(
            f"{provider.issuer}/sign-in/passkey", headers=await csrf_for(provider, elsewhere), json=answer
        )
        assert_problem(replayed, 422, "passkey-refused")
        assert elsewhere.cookies.get(SESSION_COOKIE) is None


async def test_a_passkey_that_verifies_the_person_signs_in_without_a_password(provider: Provider) -> None:
    email = await create_person(provider)
    signed_in = await sign_in(provider, email)
    authenticator = SoftAuthenticator(origin=origin_of(provider))
    await register_passkey(provider, signed_in.access_token, authenticator)
    async with httpx.AsyncClient() as browser:
        answered = await passkey_ceremony(provider, browser, authenticator.get)
        assert answered.status_code == 200, answered.text
        session = await session_of(provider, browser)
    assert session.user_id == signed_in.user_id
    assert session.pending_step is None
    assert list(session.methods) == ["hwk", "mfa"]

    authenticator.verifies_user = False  # a touch without a PIN or biometric is not enough on its own
    async with httpx.AsyncClient() as browser:
        assert_problem(await passkey_ceremony(provider, browser, authenticator.get), 422, "passkey-refused")
        assert browser.cookies.get(SESSION_COOKIE) is None


async def test_a_removed_passkey_no_longer_signs_in_and_another_persons_cannot_be_removed(provider: Provider) -> None:
    owner = await sign_in(provider, await create_person(provider))
    other = await sign_in(provider, await create_person(provider))
    authenticator = SoftAuthenticator(origin=origin_of(provider))
    registered = await register_passkey(provider, owner.access_token, authenticator)
    assert_problem(await call(provider, "DELETE", f"/me/passkeys/{registered['id']}", other.access_token), 404)
    removed = await call(provider, "DELETE", f"/me/passkeys/{registered['id']}", owner.access_token)
    assert removed.status_code == 204
    assert (await call(provider, "GET", "/me/passkeys", owner.access_token)).json() == []
    async with httpx.AsyncClient() as browser:
        assert_problem(await passkey_ceremony(provider, browser, authenticator.get), 422, "passkey-refused")


async def test_the_second_step_page_offers_the_passkey_with_its_script_allowed_and_served(provider: Provider) -> None:
    email = await create_person(provider)
    await register_passkey(
        provider, (await sign_in(provider, email)).access_token, SoftAuthenticator(origin_of(provider))
    )
    async with httpx.AsyncClient() as browser:
        after_password = await password_step(provider, browser, email)
        page = await browser.get(after_password.headers["location"], params={"lang": "fr"})
        assert page.status_code == 200
        assert 'id="passkey"' in page.text
        assert "Utiliser plutôt une clé d’accès" in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        script = await browser.get(f"{provider.issuer}/assets/passkey.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "navigator.credentials.get" in script.text


# --- the sign-in page's "Sign in with a passkey" ----------------------------------------------------------------


def button_of(page: str) -> dict[str, str]:
    """The data attributes of the page's passkey button (what its script reads)."""
    found = re.search(r'<button id="passkey"([^>]*)>', page)
    assert found is not None, page
    return {name: html.unescape(value) for name, value in re.findall(r'data-([a-z]+)="([^"]*)"', found.group(1))}


async def test_the_sign_in_page_offers_a_passkey_in_its_language_with_its_script_allowed(provider: Provider) -> None:
    async with httpx.AsyncClient() as browser:
        english = await browser.get(f"{provider.issuer}/sign-in")
        french = await browser.get(f"{provider.issuer}/sign-in", params={"lang": "fr"})
    assert "Sign in with a passkey" in english.text
    assert "Se connecter avec une clé d’accès" in french.text
    assert "script-src 'self'" in english.headers["content-security-policy"]
    assert '<script src="assets/passkey.js" defer></script>' in english.text
    assert 'autocomplete="username webauthn"' in english.text  # the browser may offer passkeys as it autofills
    # Without the script the button stays hidden and the password form is the page.
    assert re.search(r'<button id="passkey"[^>]* hidden>', english.text)
    assert button_of(english.text)["csrf"] == form_fields(english.text)["csrf_token"]
    assert button_of(english.text)["conditional"] == "true"


async def test_a_professional_signs_in_with_a_passkey_alone_from_the_sign_in_page_and_the_id_token_says_mfa(
    provider: Provider,
) -> None:
    email = await create_person(provider, Role.PROFESSIONAL, organisation="harbour")  # MFA is required of them
    authenticator = SoftAuthenticator(origin=origin_of(provider))
    await register_passkey(provider, (await sign_in(provider, email)).access_token, authenticator)
    verifier = generate_token(64)
    async with web_client(provider) as client, httpx.AsyncClient() as browser:
        url, _ = client.create_authorization_url(provider.metadata["authorization_endpoint"], code_verifier=verifier)
        to_sign_in = await browser.get(url)
        page = await browser.get(urljoin(str(to_sign_in.url), to_sign_in.headers["location"]))
        button = button_of(page.text)
        headers = {"X-CSRF-Token": button["csrf"]}
        options = await browser.post(urljoin(str(page.url), button["options"]), headers=headers)
        assert options.status_code == 200, options.text
        ceremony = options.json()
        assert ceremony["public_key"]["userVerification"] == "required"
        assert ceremony["public_key"].get("allowCredentials", []) == []  # any discoverable passkey: no e-mail first
        answered = await browser.post(
            urljoin(str(page.url), button["answer"]),
            headers=headers,
            json={
                "challenge_id": ceremony["challenge_id"],
                "credential": authenticator.get(ceremony["public_key"]),
                "next": button["next"],
            },
        )
        assert answered.status_code == 200, answered.text
        back = await browser.get(urljoin(str(page.url), answered.json()["location"]))  # no second step owed
        assert back.status_code == 302, back.text
        token = await client.fetch_token(
            provider.metadata["token_endpoint"], authorization_response=back.headers["location"], code_verifier=verifier
        )
    claims = jwt.decode(token["id_token"], options={"verify_signature": False})
    assert set(claims["amr"]) == {"hwk", "mfa"}


async def test_the_passkey_sign_in_refuses_a_forged_csrf_token(provider: Provider) -> None:
    async with httpx.AsyncClient() as browser:
        page = await browser.get(f"{provider.issuer}/sign-in")
        forged = {"X-CSRF-Token": button_of(page.text)["csrf"] + "x"}
        assert_problem(await browser.post(f"{provider.issuer}/sign-in/passkey/options", headers=forged), 403)
        answer = {"challenge_id": str(uuid.uuid4()), "credential": {}, "next": ""}
        assert_problem(await browser.post(f"{provider.issuer}/sign-in/passkey", headers=forged, json=answer), 403)
