"""Consent for third-party applications (issue 4 §6; RFC 6749 §4.1, OIDC Core §3.1.2.4), with Authlib's client as
the relying party over real HTTP; and the audit records of ``/userinfo`` and the operator's API (issue 4 §10)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from sqlalchemy import func, select, update

from kairos.identity.demo import DEMO_PASSWORD
from kairos.identity.service import create_client, revoke_session
from kairos.identity.sessions import ABSOLUTE_TIMEOUT, SESSION_COOKIE
from kairos.identity.tables import browser_sessions
from tests.integration.identity.conftest import (
    Provider,
    bearer,
    create_person,
    form_fields,
    organisation_ids,
    sign_in,
)
from tests.integration.identity.records import assert_problem, audit_records, call, events

pytestmark = pytest.mark.integration

CALLBACK = "http://127.0.0.1:9/calendar-helper/callback"
SCOPES = "openid profile email offline_access patient/Appointment.read"


@dataclass(frozen=True)
class ThirdParty:
    client_id: str
    client_secret: str


@pytest.fixture(scope="module")
async def third_party(provider: Provider) -> ThirdParty:
    async with provider.runtime.unit_of_work() as uow:
        registered = await create_client(
            uow=uow,
            name="Calendar Helper",
            grant_types=frozenset({"authorization_code", "refresh_token"}),
            redirect_uris=(CALLBACK,),
            scopes=tuple(SCOPES.split()),
        )
        await uow.commit()
    assert registered.client_secret is not None
    return ThirdParty(registered.client_id, registered.client_secret)


def relying_party(third_party: ThirdParty, scope: str) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=third_party.client_id,
        client_secret=third_party.client_secret,
        redirect_uri=CALLBACK,
        scope=scope,
        code_challenge_method="S256",
    )


@dataclass
class Request:
    """One authorization request of the relying party: its URL, state and PKCE verifier."""

    url: str
    state: str
    verifier: str


def authorization_request(client: AsyncOAuth2Client, provider: Provider, **extra: str) -> Request:
    verifier = generate_token(64)
    url, state = client.create_authorization_url(
        provider.metadata["authorization_endpoint"], code_verifier=verifier, **extra
    )
    return Request(url, state, verifier)


@contextlib.asynccontextmanager
async def signed_in_browser(provider: Provider, email: str, language: str = "en") -> AsyncIterator[httpx.AsyncClient]:
    """A browser in which the person has signed in to Kairos (a patient: no second step)."""
    async with httpx.AsyncClient(headers={"Accept-Language": language}) as browser:
        page = await browser.get(f"{provider.issuer}/sign-in")
        signed_in = await browser.post(
            f"{provider.issuer}/sign-in", data={**form_fields(page.text), "email": email, "password": DEMO_PASSWORD}
        )
        assert signed_in.status_code == 303, signed_in.text
        yield browser


async def answer(provider: Provider, browser: httpx.AsyncClient, page: httpx.Response, decision: str) -> httpx.Response:
    return await browser.post(
        f"{provider.issuer}/authorize/consent", data={**form_fields(page.text), "decision": decision}
    )


def query_of(response: httpx.Response) -> dict[str, list[str]]:
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(CALLBACK)
    return parse_qs(urlsplit(location).query)


async def grants_of(provider: Provider, email: str) -> list[dict[str, Any]]:
    person = await sign_in(provider, email)
    listed = await call(provider, "GET", "/me/grants", person.access_token)
    assert listed.status_code == 200, listed.text
    items: list[dict[str, Any]] = listed.json()["items"]
    return items


async def test_consent_is_asked_once_and_tokens_carry_only_the_scopes_granted(
    provider: Provider, third_party: ThirdParty
) -> None:
    email = await create_person(provider)
    async with (
        relying_party(third_party, "openid email patient/Appointment.read") as client,
        signed_in_browser(provider, email) as browser,
    ):
        asked = authorization_request(client, provider)
        page = await browser.get(asked.url)
        assert page.status_code == 200, page.text
        assert "Allow Calendar Helper to use your Kairos account?" in page.text
        assert "See your e-mail address" in page.text
        assert "Read your appointments" in page.text
        assert "See your name" not in page.text  # profile was not asked for
        assert 'lang="en"' in page.text

        query = query_of(await answer(provider, browser, page, "allow"))
        assert query["state"] == [asked.state]
        assert query["iss"] == [provider.issuer]
        token = await client.fetch_token(
            provider.metadata["token_endpoint"],
            authorization_response=_callback(query),
            code_verifier=asked.verifier,
        )
        assert set(token["scope"].split()) == {"openid", "email", "patient/Appointment.read"}
        claims = jwt.decode(token["access_token"], options={"verify_signature": False})
        assert set(claims["scope"].split()) == {"openid", "email", "patient/Appointment.read"}
        assert "refresh_token" not in token  # offline_access was not granted

        # The same scopes, or fewer, again: no page.
        again = authorization_request(client, provider, scope="openid email")
        assert "code" in query_of(await browser.get(again.url))

        # prompt=consent asks again.
        forced = authorization_request(client, provider, prompt="consent")
        forced_page = await browser.get(forced.url)
        assert forced_page.status_code == 200
        assert "Read your appointments" in forced_page.text

        # More scopes than granted: asked again, for all of them.
        wider = authorization_request(client, provider, scope="openid email profile")
        wider_page = await browser.get(wider.url)
        assert wider_page.status_code == 200
        assert "See your name, language and time zone" in wider_page.text

    [grant] = await grants_of(provider, email)
    assert grant["client_id"] == third_party.client_id
    assert grant["client_name"] == "Calendar Helper"
    assert grant["scopes"] == sorted(["openid", "email", "patient/Appointment.read"])
    user_id = uuid.UUID(jwt.decode(token["id_token"], options={"verify_signature": False})["sub"])
    created = await audit_records(
        provider, data_subject=str(user_id), resource_type="identity.client_grant", action="create"
    )
    assert len(created) == 1
    assert created[0]["actor"] == str(user_id)
    assert created[0]["fields"] == ["client_id", "scopes"]


def _callback(query: dict[str, list[str]]) -> str:
    return f"{CALLBACK}?code={query['code'][0]}&state={query['state'][0]}&iss={query['iss'][0]}"


async def test_prompt_none_without_a_grant_answers_consent_required(
    provider: Provider, third_party: ThirdParty
) -> None:
    email = await create_person(provider)
    async with relying_party(third_party, "openid") as client, signed_in_browser(provider, email) as browser:
        asked = authorization_request(client, provider, prompt="none")
        query = query_of(await browser.get(asked.url))
    assert query["error"] == ["consent_required"]
    assert query["state"] == [asked.state]
    assert query["iss"] == [provider.issuer]


async def test_denying_answers_access_denied_with_iss_and_state(provider: Provider, third_party: ThirdParty) -> None:
    email = await create_person(provider)
    async with (
        relying_party(third_party, "openid email") as client,
        signed_in_browser(provider, email) as browser,
    ):
        asked = authorization_request(client, provider)
        page = await browser.get(asked.url)
        query = query_of(await answer(provider, browser, page, "deny"))
        assert query["error"] == ["access_denied"]
        assert query["state"] == [asked.state]
        assert query["iss"] == [provider.issuer]
        assert "code" not in query
        # Nothing was granted: the next request asks again.
        assert (await browser.get(authorization_request(client, provider).url)).status_code == 200
    assert await grants_of(provider, email) == []


async def test_a_consent_form_without_its_csrf_token_is_refused(provider: Provider, third_party: ThirdParty) -> None:
    email = await create_person(provider)
    async with relying_party(third_party, "openid") as client, signed_in_browser(provider, email) as browser:
        page = await browser.get(authorization_request(client, provider).url)
        fields = form_fields(page.text)
        without = await browser.post(
            f"{provider.issuer}/authorize/consent", data={"ticket": fields["ticket"], "decision": "allow"}
        )
        assert without.status_code == 403
        wrong = await browser.post(
            f"{provider.issuer}/authorize/consent", data={**fields, "csrf_token": "forged", "decision": "allow"}
        )
        assert wrong.status_code == 403
        # The page's own answer still works: the refused posts did not use it up.
        assert "code" in query_of(await answer(provider, browser, page, "allow"))


async def test_an_answer_counts_once_and_only_for_the_request_it_was_shown_for(
    provider: Provider, third_party: ThirdParty
) -> None:
    victim = await create_person(provider)
    attacker = await create_person(provider)
    async with (
        relying_party(third_party, "openid email") as client,
        signed_in_browser(provider, victim) as victim_browser,
        signed_in_browser(provider, attacker) as attacker_browser,
    ):
        attacker_page = await attacker_browser.get(authorization_request(client, provider).url)
        victim_page = await victim_browser.get(authorization_request(client, provider).url)
        # The attacker's page's ticket posted in the victim's browser (with the victim's own CSRF token):
        # it belongs to another browser session's request, and is refused.
        swapped = await victim_browser.post(
            f"{provider.issuer}/authorize/consent",
            data={
                "csrf_token": form_fields(victim_page.text)["csrf_token"],
                "ticket": form_fields(attacker_page.text)["ticket"],
                "decision": "allow",
            },
        )
        assert swapped.status_code == 400
        assert "expired or was already answered" in swapped.text

        assert "code" in query_of(await answer(provider, victim_browser, victim_page, "allow"))
        replayed = await answer(provider, victim_browser, victim_page, "allow")
        assert replayed.status_code == 400
    assert await grants_of(provider, attacker) == []


async def test_revoking_a_grant_revokes_the_applications_tokens_and_asks_again(
    provider: Provider, third_party: ThirdParty
) -> None:
    email = await create_person(provider)
    async with (
        relying_party(third_party, "openid offline_access") as client,
        signed_in_browser(provider, email) as browser,
    ):
        asked = authorization_request(client, provider)
        page = await browser.get(asked.url)
        query = query_of(await answer(provider, browser, page, "allow"))
        token = await client.fetch_token(
            provider.metadata["token_endpoint"],
            authorization_response=_callback(query),
            code_verifier=asked.verifier,
        )
        assert "refresh_token" in token

        person = await sign_in(provider, email)
        revoked = await call(provider, "DELETE", f"/me/grants/{third_party.client_id}", person.access_token)
        assert revoked.status_code == 200, revoked.text
        assert revoked.json()["revoked_at"] is not None
        assert_problem(await call(provider, "DELETE", f"/me/grants/{third_party.client_id}", person.access_token), 404)

        async with httpx.AsyncClient() as plain:
            refreshed = await plain.post(
                provider.metadata["token_endpoint"],
                data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
                auth=(third_party.client_id, third_party.client_secret),
            )
            assert refreshed.status_code == 400
            assert refreshed.json()["error"] == "invalid_grant"
            userinfo = await plain.get(provider.metadata["userinfo_endpoint"], headers=bearer(token["access_token"]))
            assert userinfo.status_code == 401  # its access token went with it

        assert (await browser.get(authorization_request(client, provider).url)).status_code == 200
    assert await grants_of(provider, email) == []
    deleted = await audit_records(
        provider, resource_type="identity.client_grant", action="delete", actor=str(person.user_id)
    )
    assert len(deleted) == 1
    assert deleted[0]["data_subject"] == str(person.user_id)


async def test_the_consent_page_speaks_french(provider: Provider, third_party: ThirdParty) -> None:
    email = await create_person(provider)
    async with (
        relying_party(third_party, "openid patient/Appointment.read") as client,
        signed_in_browser(provider, email, "fr-FR,fr;q=0.9") as browser,
    ):
        page = await browser.get(authorization_request(client, provider).url)
    assert page.status_code == 200
    assert 'lang="fr"' in page.text
    assert "Autoriser Calendar Helper à utiliser votre compte Kairos ?" in page.text
    assert "Lire vos rendez-vous" in page.text
    assert ">Refuser<" in page.text


async def test_userinfo_is_audited_with_the_client_that_read_it(provider: Provider, third_party: ThirdParty) -> None:
    email = await create_person(provider)
    async with (
        relying_party(third_party, "openid email") as client,
        signed_in_browser(provider, email) as browser,
    ):
        asked = authorization_request(client, provider)
        page = await browser.get(asked.url)
        query = query_of(await answer(provider, browser, page, "allow"))
        token = await client.fetch_token(
            provider.metadata["token_endpoint"], authorization_response=_callback(query), code_verifier=asked.verifier
        )
    async with httpx.AsyncClient() as plain:
        info = await plain.get(provider.metadata["userinfo_endpoint"], headers=bearer(token["access_token"]))
    assert info.status_code == 200
    subject = info.json()["sub"]
    [record] = await audit_records(provider, resource_type="identity.claims", data_subject=subject)
    assert record["action"] == "read"
    assert record["actor"] == subject
    assert record["actor_client"] == third_party.client_id
    assert record["fields"] == ["email", "email_verified"]  # the names of what was released, never the values
    assert record["purpose"] == "userinfo"


async def test_the_operators_reads_and_role_changes_are_audited_and_published(provider: Provider) -> None:
    operator = await sign_in(provider, "operator@demo.kairos.test")
    email = await create_person(provider)
    found = await call(provider, "GET", "/users", operator.access_token, email=email)
    assert found.status_code == 200, found.text
    user_id = found.json()["items"][0]["id"]
    read = await call(provider, "GET", f"/users/{user_id}", operator.access_token)
    assert read.status_code == 200
    reads = await audit_records(provider, resource_type="identity.account", data_subject=user_id, action="read")
    assert len(reads) == 2
    assert {record["actor"] for record in reads} == {str(operator.user_id)}
    assert {record["purpose"] for record in reads} == {"account administration"}
    assert "email" in reads[0]["fields"]

    lindqvist = str((await organisation_ids(provider))["lindqvist"])
    for role, organisation in (("staff", lindqvist), ("operator", None)):
        body = {"role": role, **({"organisation_id": organisation} if organisation else {})}
        assigned = await call(provider, "POST", f"/users/{user_id}/roles", operator.access_token, json=body)
        assert assigned.status_code == 200, assigned.text
        again = await call(provider, "POST", f"/users/{user_id}/roles", operator.access_token, json=body)
        assert again.status_code == 200  # already held: nothing changes, nothing is published
    taken = await call(
        provider, "DELETE", f"/users/{user_id}/roles/staff", operator.access_token, organisation_id=lindqvist
    )
    assert taken.status_code == 200, taken.text

    assigned_events = await events(provider, "identity.role.assigned", user_id=user_id)
    assert [(e["role"], e["organisation_id"], e["actor"]) for e in assigned_events] == [
        ("staff", lindqvist, str(operator.user_id)),
        ("operator", None, str(operator.user_id)),
    ]
    [revoked] = await events(provider, "identity.role.revoked", user_id=user_id)
    assert (revoked["role"], revoked["organisation_id"]) == ("staff", lindqvist)
    changes = await audit_records(provider, data_subject=user_id)
    written = [(r["resource_type"], r["action"], r["purpose"]) for r in changes if r["action"] != "read"]
    assert written == [
        ("identity.membership", "create", "role management"),  # memberships.change_role, as a domain admin's
        ("identity.account", "update", "account administration"),
        ("identity.membership", "delete", "role management"),
    ]


async def test_offline_access_outlives_the_browser_sessions_timeouts_but_not_its_sign_out(
    provider: Provider, third_party: ThirdParty
) -> None:
    email = await create_person(provider)
    async with relying_party(third_party, SCOPES) as client, signed_in_browser(provider, email) as browser:
        asked = authorization_request(client, provider)
        query = query_of(await answer(provider, browser, await browser.get(asked.url), "allow"))
        token = await client.fetch_token(
            provider.metadata["token_endpoint"], authorization_response=_callback(query), code_verifier=asked.verifier
        )
        session_id = uuid.UUID(browser.cookies[SESSION_COOKIE].partition(".")[0])
        # The person went away: their browser session idled out and passed its end (OIDC Core §11: offline access).
        async with provider.runtime.sessionmaker() as session, session.begin():
            await session.execute(
                update(browser_sessions)
                .where(browser_sessions.c.id == session_id)
                .values(last_seen_at=browser_sessions.c.last_seen_at - ABSOLUTE_TIMEOUT, expires_at=func.now())
            )
        token_endpoint = provider.metadata["token_endpoint"]
        refreshed = await client.refresh_token(token_endpoint, refresh_token=token["refresh_token"])
        assert "access_token" in refreshed

        # Signing that session out (what the sessions API does) ends the application's access too.
        async with provider.runtime.sessionmaker() as session:
            user_id = await session.scalar(
                select(browser_sessions.c.user_id).where(browser_sessions.c.id == session_id)
            )
        assert user_id is not None
        await revoke_session(uow=provider.runtime.unit_of_work(), user_id=user_id, session_id=session_id)
        with pytest.raises(OAuthError):
            await client.refresh_token(token_endpoint, refresh_token=refreshed["refresh_token"])
