"""Sign-in hardening over real HTTP: password guessing throttled per account and per address (alike for
accounts that do not exist), the hard limit and its reset hook, known devices; TOTP enrolment and the code
step, replayed codes, recovery codes, the MFA policy per role, ``amr`` in the ID token, CSRF on the forms.

The provider here waits 30 s after 2 free failures (doubling to 2 minutes), stops at 10, and lets an address
fail 5 times in a burst, then once a minute. It trusts ``X-Forwarded-For`` as if behind the gateway, so each
test guesses from its own addresses; time moves by the provider's clock, never by sleeping.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import jwt
import pytest
from authlib.common.security import generate_token
from sqlalchemy import func, select

from kairos.identity.demo import DEMO_PASSWORD
from kairos.identity.domain.roles import Role
from kairos.identity.domain.throttling import ThrottlePolicy, address_key
from kairos.identity.pages import MESSAGES
from kairos.identity.repository import email_lookup
from kairos.identity.service import create_user
from kairos.identity.sessions import SESSION_COOKIE, Sessions, SignInFailed
from kairos.identity.settings import IdentitySettings
from kairos.identity.state import IdentityState
from kairos.identity.tables import failure_streaks, sign_in_attempts
from kairos.identity.throttle import (
    ATTEMPT_LEASE,
    DEVICE_COOKIE,
    PasswordAttempt,
    SignInThrottle,
    SignInThrottled,
    password_subject,
)
from kairos.platform.config import Settings
from tests.integration.identity.conftest import (
    DOCTOR,
    PATIENT,
    Provider,
    answer_code,
    enrol_authenticator,
    form_fields,
    running_provider,
    web_client,
)

pytestmark = pytest.mark.integration

SHORT_WAITS = ThrottlePolicy(
    free_failures=2,
    first_wait=timedelta(seconds=30),
    longest_wait=timedelta(minutes=2),
    failure_limit=10,
    address_burst=5,
    address_refill=timedelta(minutes=1),
)
WRONG = "not the password at all"
_addresses = (f"198.51.100.{n}" for n in itertools.count(1))


def behind_the_gateway(state: IdentityState) -> None:
    state.throttle_policy = SHORT_WAITS
    state.settings = IdentitySettings(trust_forwarded_for=True)


@pytest.fixture(scope="module")
async def provider(base_settings: Settings) -> AsyncIterator[Provider]:
    async with running_provider(base_settings, configure=behind_the_gateway) as running:
        yield running


def browser_at(address: str | None = None) -> httpx.AsyncClient:
    """A browser whose requests reach identity through the gateway from ``address`` (a fresh one by default)."""
    return httpx.AsyncClient(headers={"X-Forwarded-For": address or next(_addresses)})


async def new_account(provider: Provider, *, role: Role = Role.PATIENT) -> str:
    email = f"{uuid.uuid4().hex[:12]}@example.org"
    async with provider.runtime.unit_of_work() as uow:
        await create_user(
            uow=uow,
            email=email,
            password=DEMO_PASSWORD,
            display_name="Test Person",
            roles=frozenset({role}),
            email_verified=True,
        )
        await uow.commit()
    return email


async def submit_password(
    provider: Provider, browser: httpx.AsyncClient, email: str, password: str, *, next_url: str = ""
) -> httpx.Response:
    page = await browser.get(f"{provider.issuer}/sign-in")
    fields = {**form_fields(page.text), "email": email, "password": password}
    return await browser.post(f"{provider.issuer}/sign-in", data={**fields, "next": next_url})


def alert(page: httpx.Response) -> str:
    found = re.search(r'role="alert">([^<]+)<', page.text)
    assert found is not None, page.text
    return found.group(1)


async def until_refused(provider: Provider, email: str) -> list[int]:
    """Guess wrong, each time from a new address, until refused; the statuses seen."""
    statuses: list[int] = []
    while not statuses or statuses[-1] != 429:
        async with browser_at() as browser:
            statuses.append((await submit_password(provider, browser, email, WRONG)).status_code)
        assert len(statuses) < 20
    return statuses


# --- throttling -------------------------------------------------------------------------------------------


async def test_guessing_one_accounts_password_is_throttled_and_the_right_password_waits_too(
    provider: Provider,
) -> None:
    email = await new_account(provider)

    assert await until_refused(provider, email) == [401, 401, 401, 429]

    async with browser_at() as owner:
        during_the_wait = await submit_password(provider, owner, email, DEMO_PASSWORD)
        assert during_the_wait.status_code == 429
        assert 0 < int(during_the_wait.headers["retry-after"]) <= 30
        assert "Wait" in alert(during_the_wait)
        assert SESSION_COOKIE not in during_the_wait.cookies

        provider.clock.advance(timedelta(seconds=31))
        after_the_wait = await submit_password(provider, owner, email, DEMO_PASSWORD)
        assert after_the_wait.status_code == 303
        assert SESSION_COOKIE in after_the_wait.cookies

    # The correct password ended the streak: the next mistake is an ordinary one again.
    async with browser_at() as browser:
        assert (await submit_password(provider, browser, email, WRONG)).status_code == 401


async def test_guesses_sent_all_at_once_are_judged_one_after_another(provider: Provider) -> None:
    email = await new_account(provider)

    async def guess() -> int:
        async with browser_at() as browser:
            return (await submit_password(provider, browser, email, WRONG)).status_code

    statuses = await asyncio.gather(*(guess() for _ in range(8)))

    assert sorted(statuses) == [401, 401, 401] + [429] * 5


async def test_the_refusal_is_localised(provider: Provider) -> None:
    email = await new_account(provider)
    await until_refused(provider, email)
    async with browser_at() as browser:
        refused = await submit_password(provider, browser, email, WRONG)
        page = await browser.get(f"{provider.issuer}/sign-in")
        french = await browser.post(
            f"{provider.issuer}/sign-in?lang=fr",
            data={**form_fields(page.text), "email": email, "password": WRONG},
        )
    assert refused.status_code == french.status_code == 429
    assert "Attendez" in alert(french)
    assert alert(french) != alert(refused)


async def test_guessing_across_many_accounts_from_one_address_spends_the_addresses_budget(
    provider: Provider,
) -> None:
    # Addresses in one IPv6 /64 are one subscriber's: they share a budget.
    sprayer = [f"2001:db8:5:7::{n:x}" for n in range(1, 8)]
    statuses = []
    for address in sprayer[:6]:
        async with browser_at(address) as browser:
            statuses.append((await submit_password(provider, browser, await new_account(provider), WRONG)).status_code)
    assert statuses == [401] * 5 + [429]

    real_account = await new_account(provider)
    async with browser_at(sprayer[6]) as browser:
        refused = await submit_password(provider, browser, real_account, DEMO_PASSWORD)
    assert refused.status_code == 429
    assert 0 < int(refused.headers["retry-after"]) <= 60

    async with browser_at() as elsewhere:  # another address is not held back
        assert (await submit_password(provider, elsewhere, real_account, DEMO_PASSWORD)).status_code == 303

    provider.clock.advance(timedelta(minutes=1))  # the bucket drains one failure a minute
    async with browser_at(sprayer[0]) as browser:
        assert (await submit_password(provider, browser, real_account, DEMO_PASSWORD)).status_code == 303


async def test_accounts_that_exist_and_accounts_that_do_not_are_throttled_alike(provider: Provider) -> None:
    known = await new_account(provider)
    unknown = f"nobody-{uuid.uuid4().hex[:8]}@example.org"

    assert await until_refused(provider, known) == await until_refused(provider, unknown) == [401, 401, 401, 429]
    async with browser_at() as browser:
        for_known = await submit_password(provider, browser, known, WRONG)
        for_unknown = await submit_password(provider, browser, unknown, WRONG)
    assert for_known.status_code == for_unknown.status_code == 429
    assert re.sub(r"\d+", "N", alert(for_known)) == re.sub(r"\d+", "N", alert(for_unknown))
    assert "retry-after" in for_known.headers
    assert "retry-after" in for_unknown.headers


async def test_at_the_hard_limit_the_password_is_refused_until_a_reset(provider: Provider) -> None:
    email = await new_account(provider)
    failures = 0
    while failures < SHORT_WAITS.failure_limit:
        async with browser_at() as browser:
            response = await submit_password(provider, browser, email, WRONG)
        if response.status_code == 429:
            provider.clock.advance(timedelta(seconds=int(response.headers["retry-after"])))
        else:
            assert response.status_code == 401
            failures += 1

    provider.clock.advance(timedelta(days=30))  # time alone never lifts it
    async with browser_at() as browser:
        disabled = await submit_password(provider, browser, email, DEMO_PASSWORD)
    assert disabled.status_code == 429
    assert "retry-after" not in disabled.headers
    assert "Reset your password" in alert(disabled)

    # What the password reset flow will call once the new password is stored.
    async with provider.runtime.unit_of_work() as uow:
        await SignInThrottle(uow.session, SHORT_WAITS).clear_password_failures(
            account=await email_lookup(uow.cipher, email)
        )
        await uow.commit()
    async with browser_at() as browser:
        assert (await submit_password(provider, browser, email, DEMO_PASSWORD)).status_code == 303


# Waits that never hold a guesser back before the hard limit: only the limit and the address budget are at stake.
NO_WAITS_BEFORE_THE_LIMIT = ThrottlePolicy(free_failures=9, failure_limit=10, address_burst=1000)


async def streak_of(provider: Provider, email: str) -> int:
    subject = password_subject(await email_lookup(provider.runtime.cipher, email))
    async with provider.runtime.sessionmaker() as session:
        failures = await session.scalar(select(failure_streaks.c.failures).where(failure_streaks.c.subject == subject))
    return int(failures or 0)


async def in_flight_rows(provider: Provider) -> int:
    async with provider.runtime.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(sign_in_attempts)) or 0)


async def test_many_concurrent_wrong_passwords_never_get_more_than_the_limit_through(provider: Provider) -> None:
    email = await new_account(provider)
    sessions = Sessions(provider.runtime, provider.identity.hasher)

    async def guess() -> str:
        try:
            await sessions.sign_in(
                email=email,
                password=WRONG,
                user_agent="guesser",
                address=next(_addresses),
                device_cookie="",
                policy=NO_WAITS_BEFORE_THE_LIMIT,
                clock=provider.clock,
            )
        except SignInFailed:
            return "checked"
        except SignInThrottled as throttled:
            return throttled.refusal.reason.value
        return "signed in"

    outcomes = await asyncio.gather(*(guess() for _ in range(30)))

    assert outcomes.count("checked") == NO_WAITS_BEFORE_THE_LIMIT.failure_limit
    assert await streak_of(provider, email) == NO_WAITS_BEFORE_THE_LIMIT.failure_limit
    assert await in_flight_rows(provider) == 0
    async with browser_at() as owner:
        assert (await submit_password(provider, owner, email, DEMO_PASSWORD)).status_code == 429  # until a reset


async def test_attempts_let_through_count_as_failures_until_decided_and_hold_no_lock(provider: Provider) -> None:
    """Every attempt is let through or refused while the others are still being checked (none waits for another's
    password check): on one account no more than the limit, from one network no more than its burst."""
    email, network = await new_account(provider), next(_addresses)
    policy = replace(NO_WAITS_BEFORE_THE_LIMIT, address_burst=6)
    at = provider.clock.now()

    async def reserve(account: str, address: str) -> PasswordAttempt | None:
        async with provider.runtime.unit_of_work() as uow:
            try:
                attempt = await SignInThrottle(uow.session, policy).reserve_password_attempt(
                    account=await email_lookup(uow.cipher, account), address=address, device=None, at=at
                )
            except SignInThrottled:
                return None
            await uow.commit()
            return attempt

    on_one_account = await asyncio.gather(*(reserve(email, next(_addresses)) for _ in range(25)))
    from_one_network = await asyncio.gather(*(reserve(f"{uuid.uuid4().hex}@example.org", network) for _ in range(15)))
    let_through = [attempt for attempt in on_one_account if attempt is not None]
    assert len(let_through) == policy.failure_limit
    assert sum(attempt is not None for attempt in from_one_network) == policy.address_burst

    for attempt in let_through:  # every one turns out wrong
        async with provider.runtime.unit_of_work() as uow:
            await SignInThrottle(uow.session, policy).password_failed(attempt)
            await uow.commit()
    assert await streak_of(provider, email) == policy.failure_limit
    assert await reserve(email, next(_addresses)) is None

    # An attempt whose outcome never came (its process stopped) stops counting after the lease.
    later = at + ATTEMPT_LEASE + timedelta(seconds=1)
    async with provider.runtime.unit_of_work() as uow:
        someone = await email_lookup(uow.cipher, f"{uuid.uuid4().hex}@example.org")
        fresh = await SignInThrottle(uow.session, policy).reserve_password_attempt(
            account=someone, address=network, device=None, at=later
        )
        await uow.commit()
    assert fresh.network == address_key(network)


async def test_the_owner_on_a_device_they_signed_in_from_is_not_made_to_wait(provider: Provider) -> None:
    email = await new_account(provider)
    async with browser_at() as owner:
        first = await submit_password(provider, owner, email, DEMO_PASSWORD)
        assert first.status_code == 303
        assert DEVICE_COOKIE in first.cookies

        assert (await until_refused(provider, email))[-1] == 429  # an attacker keeps the account waiting

        again = await submit_password(provider, owner, email, DEMO_PASSWORD)
        assert again.status_code == 303
    async with browser_at() as stranger:  # the streak ended with the owner's sign-in
        assert (await submit_password(provider, stranger, email, WRONG)).status_code == 401


# --- the second factor ------------------------------------------------------------------------------------


async def authorize_with_password(
    provider: Provider, browser: httpx.AsyncClient, email: str
) -> tuple[httpx.Response, str, str]:
    """Start the code flow and give the password; the sign-in's answer, the authorize URL and the PKCE verifier."""
    verifier = generate_token(64)
    async with web_client(provider) as client:
        url, _ = client.create_authorization_url(provider.metadata["authorization_endpoint"], code_verifier=verifier)
    to_sign_in = await browser.get(url)
    assert to_sign_in.status_code == 303
    next_url = parse_qs(urlsplit(to_sign_in.headers["location"]).query)["next"][0]
    return await submit_password(provider, browser, email, DEMO_PASSWORD, next_url=next_url), url, verifier


async def id_token_claims(provider: Provider, browser: httpx.AsyncClient, authorize_url: str, verifier: str) -> dict:
    back = await browser.get(authorize_url)
    assert back.status_code == 302, back.text
    async with web_client(provider) as client:
        token = await client.fetch_token(
            provider.metadata["token_endpoint"], authorization_response=back.headers["location"], code_verifier=verifier
        )
    claims: dict = jwt.decode(token["id_token"], options={"verify_signature": False})
    return claims


def step_of(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text
    return urljoin(str(response.url), response.headers["location"])


async def test_the_demo_doctor_enrols_at_first_sign_in_then_answers_a_code_and_the_id_token_says_so(
    provider: Provider,
) -> None:
    async with browser_at() as browser:
        password_step, authorize_url, verifier = await authorize_with_password(provider, browser, DOCTOR)
        enrolment = step_of(password_step)
        assert urlsplit(enrolment).path.endswith("/mfa/enrol")

        # Until enrolled, the authorization endpoint issues no code: it sends the browser back to enrolment.
        not_yet = await browser.get(authorize_url)
        assert not_yet.status_code == 303
        assert urlsplit(not_yet.headers["location"]).path.endswith("/mfa/enrol")

        page = await browser.get(enrolment)
        assert "<svg" in page.text
        assert 'autocomplete="one-time-code"' in page.text
        assert 'inputmode="numeric"' in page.text
        assert '<label for="code">' in page.text
        continue_to = await enrol_authenticator(provider, browser, enrolment, DOCTOR)
        assert len(provider.authenticators[DOCTOR].recovery_codes) == 10
        assert continue_to == authorize_url
        assert (await id_token_claims(provider, browser, authorize_url, verifier))["amr"] == ["pwd", "otp"]

    async with browser_at() as browser:  # the next sign-in asks for a code
        password_step, authorize_url, verifier = await authorize_with_password(provider, browser, DOCTOR)
        code_step = step_of(password_step)
        assert urlsplit(code_step).path.endswith("/sign-in/code")
        assert (await browser.get(authorize_url)).status_code == 303
        await answer_code(provider, browser, code_step, DOCTOR)
        claims = await id_token_claims(provider, browser, authorize_url, verifier)
    assert claims["amr"] == ["pwd", "otp"]


async def test_a_patient_signs_in_with_the_password_alone(provider: Provider) -> None:
    async with browser_at() as browser:
        password_step, authorize_url, verifier = await authorize_with_password(provider, browser, PATIENT)
        assert step_of(password_step) == authorize_url
        claims = await id_token_claims(provider, browser, authorize_url, verifier)
    assert claims["amr"] == ["pwd"]


async def enrolled_operator(provider: Provider) -> str:
    email = await new_account(provider, role=Role.OPERATOR)
    async with browser_at() as browser:
        await enrol_authenticator(
            provider, browser, step_of(await submit_password(provider, browser, email, DEMO_PASSWORD)), email
        )
    return email


async def code_page(provider: Provider, browser: httpx.AsyncClient, email: str) -> tuple[str, dict[str, str]]:
    step = step_of(await submit_password(provider, browser, email, DEMO_PASSWORD))
    assert urlsplit(step).path.endswith("/sign-in/code")
    page = await browser.get(step)
    assert 'autocomplete="one-time-code"' in page.text
    return step, form_fields(page.text)


async def test_a_code_is_accepted_once(provider: Provider) -> None:
    email = await enrolled_operator(provider)
    provider.clock.advance(timedelta(seconds=30))
    code = provider.authenticators[email].code(provider.clock.now())

    async with browser_at() as browser:
        step, fields = await code_page(provider, browser, email)
        first = await browser.post(step, data={**fields, "code": code})
        assert first.status_code == 303
        assert SESSION_COOKIE in first.cookies
    async with browser_at() as browser:
        step, fields = await code_page(provider, browser, email)
        replayed = await browser.post(step, data={**fields, "code": code})
        assert replayed.status_code == 401
        assert alert(replayed) == MESSAGES["en"]["code_wrong"]
        assert (await browser.get(f"{provider.issuer}/sign-in/code")).status_code == 200  # still owes the step


async def test_a_recovery_code_works_once_instead_of_a_code(provider: Provider) -> None:
    email = await enrolled_operator(provider)
    recovery = provider.authenticators[email].recovery_codes[3]

    async with browser_at() as browser:
        step, fields = await code_page(provider, browser, email)
        used = await browser.post(step, data={**fields, "code": recovery.upper().replace("-", " ")})
        assert used.status_code == 303
    async with browser_at() as browser:
        step, fields = await code_page(provider, browser, email)
        assert (await browser.post(step, data={**fields, "code": recovery})).status_code == 401


async def test_wrong_codes_are_throttled_too(provider: Provider) -> None:
    email = await enrolled_operator(provider)
    async with browser_at() as browser:
        step, fields = await code_page(provider, browser, email)
        statuses = [(await browser.post(step, data={**fields, "code": "000000"})).status_code for _ in range(4)]
        right = provider.authenticators[email].code(provider.clock.now() + timedelta(seconds=30))
        during_the_wait = await browser.post(step, data={**fields, "code": right})
    assert statuses[:3] == [401, 401, 401]
    assert statuses[3] == during_the_wait.status_code == 429
    assert "retry-after" in during_the_wait.headers


async def test_the_second_factor_forms_refuse_a_missing_or_forged_csrf_token(provider: Provider) -> None:
    email = await enrolled_operator(provider)
    code = provider.authenticators[email].code(provider.clock.now() + timedelta(seconds=30))
    async with browser_at() as browser:
        step, fields = await code_page(provider, browser, email)
        forged = await browser.post(step, data={"code": code, "next": fields["next"], "csrf_token": "forged"})
        missing = await browser.post(step, data={"code": code, "next": fields["next"]})
        assert forged.status_code == 403
        assert missing.status_code == 403
        assert SESSION_COOKIE not in forged.cookies

    unenrolled = await new_account(provider, role=Role.OPERATOR)
    async with browser_at() as browser:
        enrolment = step_of(await submit_password(provider, browser, unenrolled, DEMO_PASSWORD))
        await browser.get(enrolment)
        forged = await browser.post(enrolment, data={"code": "123456", "csrf_token": "forged"})
        assert forged.status_code == 403


async def test_the_code_page_speaks_french_when_asked(provider: Provider) -> None:
    email = await enrolled_operator(provider)
    async with browser_at() as browser:
        step = step_of(await submit_password(provider, browser, email, DEMO_PASSWORD))
        page = await browser.get(step, headers={"Accept-Language": "fr"})
    assert '<html lang="fr">' in page.text
    assert "Code de sécurité" in page.text
