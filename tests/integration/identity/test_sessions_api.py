"""A person's own sessions over real HTTP: the devices signed in, which one is this, signing one or all of them
out, and what that does to the tokens obtained in them; nobody reaches another person's sessions."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client
from sqlalchemy import select, update

from kairos.identity.sessions import ABSOLUTE_TIMEOUT, IDLE_TIMEOUT, SESSION_COOKIE
from kairos.identity.tables import browser_sessions
from tests.integration.identity.conftest import Provider, SignedIn, bearer, create_person, sign_in, web_client

pytestmark = pytest.mark.integration


def sessions_url(provider: Provider) -> str:
    return f"{provider.issuer}/me/sessions"


async def my_sessions(provider: Provider, person: SignedIn, **params: Any) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.get(sessions_url(provider), headers=person.bearer, params=params)


async def refresh(provider: Provider, person: SignedIn) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.post(
            provider.metadata["token_endpoint"],
            data={
                "grant_type": "refresh_token",
                "refresh_token": person.refresh_token,
                "client_id": provider.web_client_id,
            },
        )


async def is_signed_in_in_the_browser(provider: Provider, person: SignedIn) -> bool:
    """Whether the browser's session cookie still lets it authorize without the password."""
    async with web_client(provider) as client:
        url, _ = client.create_authorization_url(provider.metadata["authorization_endpoint"], code_verifier="v" * 64)
    async with httpx.AsyncClient(cookies={SESSION_COOKIE: person.session_cookie}) as browser:
        response = await browser.get(url)
    return response.status_code == 302  # straight back to the client; 303 is the way to the sign-in page


async def test_a_person_sees_each_device_they_are_signed_in_on_and_which_one_is_this(provider: Provider) -> None:
    email = await create_person(provider)
    laptop = await sign_in(provider, email, user_agent="Laptop/1.0")
    phone = await sign_in(provider, email, user_agent="Phone/2.0")

    listed = await my_sessions(provider, laptop)

    assert listed.status_code == 200, listed.text
    page = listed.json()
    assert page["next_cursor"] is None
    by_id = {item["id"]: item for item in page["items"]}
    assert set(by_id) == {str(laptop.session_id), str(phone.session_id)}
    assert by_id[str(laptop.session_id)]["user_agent"] == "Laptop/1.0"
    assert by_id[str(laptop.session_id)]["is_current"] is True
    assert by_id[str(phone.session_id)]["is_current"] is False
    assert set(by_id[str(phone.session_id)]) == {
        "id",
        "created_at",
        "last_seen_at",
        "expires_at",
        "user_agent",
        "is_current",
    }
    from_the_phone = (await my_sessions(provider, phone)).json()["items"]
    assert [item["id"] for item in from_the_phone if item["is_current"]] == [str(phone.session_id)]


async def test_sessions_come_a_page_at_a_time(provider: Provider) -> None:
    email = await create_person(provider)
    people = [await sign_in(provider, email, user_agent=f"Device/{number}") for number in range(3)]

    seen: list[str] = []
    cursor = None
    for _ in range(3):
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await my_sessions(provider, people[0], **params)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [str(person.session_id) for person in people]  # oldest first, each once

    garbage = await my_sessions(provider, people[0], cursor="not-a-cursor")
    assert garbage.status_code == 400
    assert garbage.json()["type"] == "urn:kairos:problem:invalid-cursor"


async def test_signing_one_session_out_ends_it_and_revokes_its_tokens_only(provider: Provider) -> None:
    email = await create_person(provider)
    laptop = await sign_in(provider, email, user_agent="Laptop/1.0")
    phone = await sign_in(provider, email, user_agent="Phone/2.0")

    async with httpx.AsyncClient() as client:
        ended = await client.delete(f"{sessions_url(provider)}/{phone.session_id}", headers=laptop.bearer)
        assert ended.status_code == 204, ended.text

        # The phone is signed out: its access token, its refresh token and its browser cookie are dead.
        assert (await client.get(provider.metadata["userinfo_endpoint"], headers=phone.bearer)).status_code == 401
        assert (await my_sessions(provider, phone)).status_code == 401
    assert (await refresh(provider, phone)).status_code == 400
    assert not await is_signed_in_in_the_browser(provider, phone)

    # The laptop is not.
    assert [item["id"] for item in (await my_sessions(provider, laptop)).json()["items"]] == [str(laptop.session_id)]
    assert (await refresh(provider, laptop)).status_code == 200
    assert await is_signed_in_in_the_browser(provider, laptop)

    async with httpx.AsyncClient() as client:
        again = await client.delete(f"{sessions_url(provider)}/{phone.session_id}", headers=laptop.bearer)
    assert again.status_code == 204  # ending an ended session of one's own is no error


async def test_signing_all_sessions_out_ends_every_one_including_this_one(provider: Provider) -> None:
    email = await create_person(provider)
    laptop = await sign_in(provider, email, user_agent="Laptop/1.0")
    phone = await sign_in(provider, email, user_agent="Phone/2.0")

    async with httpx.AsyncClient() as client:
        ended = await client.delete(sessions_url(provider), headers=laptop.bearer)
    assert ended.status_code == 204, ended.text

    for device in (laptop, phone):
        assert (await my_sessions(provider, device)).status_code == 401
        assert (await refresh(provider, device)).status_code == 400
        assert not await is_signed_in_in_the_browser(provider, device)
    async with provider.runtime.sessionmaker() as session:
        open_sessions = await session.scalars(
            select(browser_sessions.c.id).where(
                browser_sessions.c.id.in_([laptop.session_id, phone.session_id]),
                browser_sessions.c.revoked_at.is_(None),
            )
        )
        assert list(open_sessions) == []


async def test_signing_the_others_out_keeps_this_session(provider: Provider) -> None:
    email = await create_person(provider)
    laptop = await sign_in(provider, email, user_agent="Laptop/1.0")
    phone = await sign_in(provider, email, user_agent="Phone/2.0")
    tablet = await sign_in(provider, email, user_agent="Tablet/3.0")

    async with httpx.AsyncClient() as client:
        ended = await client.delete(sessions_url(provider), headers=laptop.bearer, params={"keep_current": "true"})
    assert ended.status_code == 204

    assert [item["id"] for item in (await my_sessions(provider, laptop)).json()["items"]] == [str(laptop.session_id)]
    for device in (phone, tablet):
        assert (await refresh(provider, device)).status_code == 400
    assert (await refresh(provider, laptop)).status_code == 200


async def test_another_persons_session_is_not_found_and_stays_signed_in(provider: Provider) -> None:
    alice = await sign_in(provider, await create_person(provider), user_agent="Alice's laptop")
    bob = await sign_in(provider, await create_person(provider), user_agent="Bob's phone")

    async with httpx.AsyncClient() as client:
        theirs = await client.delete(f"{sessions_url(provider)}/{alice.session_id}", headers=bob.bearer)
        nobodys = await client.delete(f"{sessions_url(provider)}/{uuid.uuid4()}", headers=bob.bearer)

    # 404, as for a session that does not exist: Bob cannot even tell that it does (OWASP API1).
    assert theirs.status_code == nobodys.status_code == 404
    assert {k: v for k, v in theirs.json().items() if k not in ("instance", "correlation_id")} == {
        k: v for k, v in nobodys.json().items() if k not in ("instance", "correlation_id")
    }
    assert "Alice" not in theirs.text
    assert [item["id"] for item in (await my_sessions(provider, bob)).json()["items"]] == [str(bob.session_id)]
    assert [item["id"] for item in (await my_sessions(provider, alice)).json()["items"]] == [str(alice.session_id)]
    assert (await refresh(provider, alice)).status_code == 200


async def test_a_clients_own_token_has_no_sessions_and_no_token_is_refused(provider: Provider) -> None:
    async with AsyncOAuth2Client(
        client_id=provider.service_client_id, client_secret=provider.service_client_secret, scope="system/*.read"
    ) as service:
        token = await service.fetch_token(provider.metadata["token_endpoint"], grant_type="client_credentials")

    async with httpx.AsyncClient() as client:
        as_service = await client.get(sessions_url(provider), headers=bearer(token["access_token"]))
        anonymous = await client.get(sessions_url(provider))
        anonymous_delete = await client.delete(sessions_url(provider))
        basic = await client.get(sessions_url(provider), headers={"Authorization": "Basic dXNlcjpwYXNz"})

    assert as_service.status_code == 403
    assert as_service.json()["type"] == "urn:kairos:problem:forbidden"
    for refused in (anonymous, anonymous_delete, basic):
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith("Bearer")


# --- refresh tokens follow the browser session's timeouts ---------------------------------------------------------


async def age_session(provider: Provider, person: SignedIn, **moved_back: timedelta) -> None:
    """Move the session's recorded times back, as if that much time had passed."""
    async with provider.runtime.sessionmaker() as session, session.begin():
        await session.execute(
            update(browser_sessions)
            .where(browser_sessions.c.id == person.session_id)
            .values({column: getattr(browser_sessions.c, column) - by for column, by in moved_back.items()})
        )


async def last_seen(provider: Provider, person: SignedIn) -> datetime:
    async with provider.runtime.sessionmaker() as session:
        seen: datetime = await session.scalar(
            select(browser_sessions.c.last_seen_at).where(browser_sessions.c.id == person.session_id)
        )
    return seen


async def test_a_refresh_token_stops_working_once_its_session_idled_out_and_its_tokens_with_it(
    provider: Provider,
) -> None:
    person = await sign_in(provider, await create_person(provider))
    await age_session(provider, person, last_seen_at=IDLE_TIMEOUT + timedelta(seconds=1))

    refused = await refresh(provider, person)

    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    async with httpx.AsyncClient() as client:  # the grant is revoked with it: its access token too
        assert (await client.get(provider.metadata["userinfo_endpoint"], headers=person.bearer)).status_code == 401
    assert not await is_signed_in_in_the_browser(provider, person)


async def test_a_refresh_token_stops_working_past_its_sessions_absolute_timeout(provider: Provider) -> None:
    person = await sign_in(provider, await create_person(provider))
    await age_session(provider, person, expires_at=ABSOLUTE_TIMEOUT)  # now past its end, though active

    assert (await refresh(provider, person)).status_code == 400


async def test_refreshing_is_activity_that_keeps_the_session_from_idling_out(provider: Provider) -> None:
    person = await sign_in(provider, await create_person(provider))
    await age_session(provider, person, last_seen_at=IDLE_TIMEOUT - timedelta(minutes=5))
    before = await last_seen(provider, person)

    refreshed = await refresh(provider, person)

    assert refreshed.status_code == 200, refreshed.text
    assert await last_seen(provider, person) > before + timedelta(minutes=20)
    assert await is_signed_in_in_the_browser(provider, person)  # within its idle time again
