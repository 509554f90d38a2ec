"""E-mail addresses and display names at rest: encrypted, the address found by its keyed lookup hash; what a database
reader sees holds neither; accounts written in clear before migration 0009 are sealed; two creations of one address
racing end in one account and a 409 problem."""

from __future__ import annotations

import asyncio
import hashlib
import uuid

import httpx
import jwt
import pytest
from sqlalchemy import func, insert, select, text

from kairos.identity.demo import ACCOUNTS, DEMO_PASSWORD
from kairos.identity.domain.roles import Role
from kairos.identity.domain.throttling import ThrottlePolicy
from kairos.identity.repository import email_lookup, load_account_record, seal_clear_accounts
from kairos.identity.service import create_user
from kairos.identity.tables import failure_streaks, users
from kairos.identity.throttle import SignInThrottle, password_subject
from kairos.platform.testing.infrastructure import unique_name
from tests.integration.identity.conftest import Provider, bearer, sign_in
from tests.integration.identity.records import has_address

pytestmark = pytest.mark.integration


async def users_table_as_text(provider: Provider) -> str:
    async with provider.runtime.engine.connect() as connection:
        return str((await connection.execute(text("SELECT json_agg(u)::text FROM users u"))).scalar_one()).lower()


async def test_no_address_or_name_is_stored_in_clear(provider: Provider) -> None:
    email, name = f"{unique_name('clear-')}@example.org", "Zebulon Quartermaine"
    async with provider.runtime.unit_of_work() as uow:
        user_id = await create_user(
            uow=uow,
            email=f" {email.upper()}",
            password=DEMO_PASSWORD,
            display_name=name,
            roles=frozenset({Role.PATIENT}),
            email_verified=True,
        )
        await uow.commit()

    stored = await users_table_as_text(provider)

    for address, display_name, _, _ in ACCOUNTS:  # the demo data, and the account just made
        assert address.lower() not in stored
        assert display_name.lower() not in stored
    assert email.split("@", maxsplit=1)[0] not in stored
    assert "quartermaine" not in stored
    # Still found by its address, and read back whole.
    async with provider.runtime.sessionmaker() as session:
        account = await load_account_record(session, provider.runtime.cipher, email=f"  {email.upper()} ")
    assert account is not None
    assert (account.id, account.email, account.display_name) == (user_id, email, name)
    signed_in = await sign_in(provider, email)  # the sign-in, the token grant and /userinfo read it
    assert signed_in.user_id == user_id
    assert jwt.decode(signed_in.id_token, options={"verify_signature": False})["email"] == email


async def test_two_simultaneous_creations_of_one_address_give_one_account_and_a_409(provider: Provider) -> None:
    operator = await sign_in(provider, "operator@demo.kairos.test")
    email = f"{unique_name('race-')}@example.org"

    async def create(spelling: str) -> httpx.Response:
        async with httpx.AsyncClient() as client:
            return await client.post(
                f"{provider.issuer}/users",
                headers=bearer(operator.access_token),
                json={"email": spelling, "display_name": "Racer", "roles": ["patient"], "password": DEMO_PASSWORD},
            )

    answers = await asyncio.gather(create(email), create(email.upper()))

    assert sorted(answer.status_code for answer in answers) == [201, 409], [answer.text for answer in answers]
    refused = next(answer for answer in answers if answer.status_code == 409)
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["type"] == "urn:kairos:problem:account-exists"
    async with provider.runtime.sessionmaker() as session:
        assert await session.scalar(select(func.count()).where(await has_address(provider, email))) == 1


async def test_two_units_of_work_creating_one_address_together_make_one_account(provider: Provider) -> None:
    email = f"{unique_name('race-')}@example.org"

    async def create(spelling: str) -> uuid.UUID:
        async with provider.runtime.unit_of_work() as uow:
            user_id = await create_user(
                uow=uow, email=spelling, password=None, display_name="Racer", roles=frozenset({Role.PATIENT})
            )
            await uow.commit()
        return user_id

    outcomes = await asyncio.gather(create(email), create(email.upper()), return_exceptions=True)

    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["AccountExists", "UUID"]
    async with provider.runtime.sessionmaker() as session:
        assert await session.scalar(select(func.count()).where(await has_address(provider, email))) == 1


async def test_accounts_written_in_clear_before_migration_0009_are_sealed(provider: Provider) -> None:
    user_id, email, name = uuid.uuid4(), f"{unique_name('legacy-')}@example.org", "Ottoline Vandermeer"
    async with provider.runtime.unit_of_work() as uow:  # as a row written before 0009: clear, no lookup hash
        await uow.session.execute(insert(users).values(id=user_id, email=email, display_name=name))
        await uow.commit()
    async with provider.runtime.sessionmaker() as session:
        assert await load_account_record(session, provider.runtime.cipher, email=email) is None  # not findable yet

    assert await seal_clear_accounts(unit_of_work=provider.runtime.unit_of_work) >= 1

    assert await seal_clear_accounts(unit_of_work=provider.runtime.unit_of_work) == 0
    stored = await users_table_as_text(provider)
    assert email.split("@", maxsplit=1)[0] not in stored
    assert "vandermeer" not in stored
    async with provider.runtime.sessionmaker() as session:
        account = await load_account_record(session, provider.runtime.cipher, email=email)
    assert account is not None
    assert (account.id, account.email, account.display_name) == (user_id, email, name)


async def test_failed_sign_ins_are_counted_under_a_keyed_hash_not_a_digest_anyone_can_compute(
    provider: Provider,
) -> None:
    email = f"{unique_name('guess-')}@example.org"
    policy = ThrottlePolicy()
    async with provider.runtime.unit_of_work() as uow:
        throttle = SignInThrottle(uow.session, policy)
        attempt = await throttle.reserve_password_attempt(
            account=await email_lookup(uow.cipher, email), address="198.51.100.7", device=None, at=provider.clock.now()
        )
        await uow.commit()
    async with provider.runtime.unit_of_work() as uow:
        await SignInThrottle(uow.session, policy).password_failed(attempt)
        await uow.commit()

    async with provider.runtime.engine.connect() as connection:
        subjects = (await connection.execute(select(failure_streaks.c.subject))).scalars().all()
    unkeyed = hashlib.sha256(email.encode()).hexdigest()
    assert password_subject(await email_lookup(provider.runtime.cipher, email.upper())) in subjects
    assert not any(unkeyed in subject or email in subject for subject in subjects)


async def test_a_sessions_user_agent_is_stored_encrypted_and_shown_to_its_owner(provider: Provider) -> None:
    browser = f"Mozilla/5.0 (X11; Linux) Kairos-{unique_name('ua-')}"
    signed_in = await sign_in(provider, "patient@demo.kairos.test", user_agent=browser)

    async with provider.runtime.engine.connect() as connection:
        stored = str((await connection.execute(text("SELECT json_agg(s)::text FROM browser_sessions s"))).scalar_one())
    assert "Kairos-ua-" not in stored
    async with httpx.AsyncClient() as client:
        sessions = await client.get(f"{provider.issuer}/me/sessions", headers=bearer(signed_in.access_token))
    assert sessions.status_code == 200, sessions.text
    assert browser in [item["user_agent"] for item in sessions.json()["items"]]
