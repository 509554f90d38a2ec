"""Registration, e-mail confirmation and password reset over real HTTP, with identity's mails received by a real
SMTP server (aiosmtpd) that the tests start: links from the mails are followed as a person would.

The provider trusts ``X-Forwarded-For`` as if behind the gateway, so each test asks for mails from its own
address; time moves by the provider's clock, never by sleeping.
"""

from __future__ import annotations

import asyncio
import email.policy
import html
import itertools
import re
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import jwt
import pytest
from aiosmtpd.controller import Controller
from authlib.common.security import generate_token
from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert

from kairos.identity.demo import DEMO_PASSWORD
from kairos.identity.domain.account_tokens import BudgetRule, MailRequestPolicy, token_digest
from kairos.identity.domain.roles import Role
from kairos.identity.domain.throttling import ThrottlePolicy
from kairos.identity.mail import SmtpSender
from kairos.identity.pages import MESSAGES
from kairos.identity.repository import email_lookup
from kairos.identity.service import AccountExists, create_user
from kairos.identity.sessions import SESSION_COOKIE
from kairos.identity.settings import IdentitySettings, SmtpSecurity
from kairos.identity.state import IdentityState
from kairos.identity.tables import account_tokens, failure_streaks, outgoing_mails, users
from kairos.identity.throttle import password_subject
from kairos.platform.config import Settings
from kairos.platform.db.schema import outbox
from kairos.platform.testing.infrastructure import unique_name
from tests.integration.identity.conftest import (
    PATIENT,
    Provider,
    _free_port,
    create_person,
    form_fields,
    running_provider,
    sign_in,
    web_client,
)
from tests.integration.identity.records import has_address

pytestmark = pytest.mark.integration

NEW_PASSWORD = "copper meadow violin thunder"
REFUSED_DOMAIN = "refused.example.org"  # the SMTP server answers 550 for recipients there
_addresses = (f"203.0.113.{n}" for n in itertools.count(1))


@dataclass
class Mailbox:
    """What the SMTP server received; it runs in its own thread (aiosmtpd's controller)."""

    messages: list[EmailMessage] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address.endswith(f"@{REFUSED_DOMAIN}"):
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = BytesParser(policy=email.policy.default).parsebytes(envelope.original_content)
        with self._lock:
            self.messages.append(message)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [message for message in self.messages if message["To"] == address]

    async def next_to(self, address: str, *, after: int = 0) -> EmailMessage:
        """The first mail to ``address`` beyond the ``after`` it had already received (waits for delivery)."""
        for _ in range(400):
            received = self.to(address)
            if len(received) > after:
                return received[after]
            await asyncio.sleep(0.025)
        raise AssertionError(f"no mail to {address}")


@pytest.fixture(scope="module")
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield box, controller.port
    finally:
        controller.stop()


def smtp_at(port: int) -> SmtpSender:
    return SmtpSender(IdentitySettings(smtp_host="127.0.0.1", smtp_port=port, smtp_security=SmtpSecurity.NONE))


@pytest.fixture(scope="module")
async def provider(base_settings: Settings, mailbox: tuple[Mailbox, int]) -> AsyncIterator[Provider]:
    def with_smtp(state: IdentityState) -> None:
        state.settings = IdentitySettings(trust_forwarded_for=True, mail_from="Kairos <no-reply@kairos.test>")
        state.mail_sender = smtp_at(mailbox[1])
        state.throttle_policy = ThrottlePolicy(failure_limit=10)

    async with running_provider(base_settings, configure=with_smtp) as running:
        yield running


@pytest.fixture
def inbox(mailbox: tuple[Mailbox, int]) -> Mailbox:
    return mailbox[0]


def browser() -> httpx.AsyncClient:
    """A browser reaching identity through the gateway from an address of its own."""
    return httpx.AsyncClient(headers={"X-Forwarded-For": next(_addresses)})


def new_address() -> str:
    return f"{unique_name('person-')}@example.org"


def link_in(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    found = re.search(r"(http://\S+/(?:verify-email|reset-password)\?\S+)", body.get_content())
    assert found is not None, body.get_content()
    return found.group(1)


def alert(page: httpx.Response) -> str:
    found = re.search(r'role="alert">\s*(?:<p>)?([^<]+)<', page.text)
    assert found is not None, page.text
    return html.unescape(found.group(1))


async def submit(browser: httpx.AsyncClient, page_url: str, action: str, **fields: str) -> httpx.Response:
    """Open the page, fill in its form and send it (with the page's CSRF token and hidden fields)."""
    page = await browser.get(page_url)
    assert page.status_code == 200, page.text
    return await browser.post(urljoin(page_url, action), data={**form_fields(page.text), **fields})


async def register(provider: Provider, browser: httpx.AsyncClient, address: str, *, lang: str = "en") -> httpx.Response:
    return await submit(
        browser,
        f"{provider.issuer}/register?lang={lang}",
        f"register?lang={lang}",
        email=address,
        name="Noor Haddad",
        password=DEMO_PASSWORD,
    )


async def ask_for_reset(provider: Provider, browser: httpx.AsyncClient, address: str) -> httpx.Response:
    return await submit(browser, f"{provider.issuer}/forgot-password", "forgot-password", email=address)


async def sign_in_with(provider: Provider, browser: httpx.AsyncClient, address: str, password: str) -> httpx.Response:
    return await submit(browser, f"{provider.issuer}/sign-in", "sign-in", email=address, password=password)


async def published(provider: Provider, event_type: str, user_id: uuid.UUID | str) -> list[dict[str, Any]]:
    async with provider.runtime.sessionmaker() as session:
        rows = await session.scalars(
            select(outbox.c.data).where(outbox.c.type == event_type, outbox.c.subject == f"user:{user_id}")
        )
        return list(rows)


async def audited(provider: Provider, user_id: uuid.UUID) -> list[tuple[str, list[str]]]:
    """The audit records of the person's account: (action, fields), oldest first."""
    async with provider.runtime.sessionmaker() as session:
        rows = await session.scalars(
            select(outbox.c.data)
            .where(outbox.c.type == "audit.recorded", outbox.c.subject == f"identity.account:{user_id}")
            .order_by(outbox.c.position)
        )
        return [(row["action"], row["fields"]) for row in rows]


async def user_id_of(provider: Provider, address: str) -> uuid.UUID:
    async with provider.runtime.sessionmaker() as session:
        found = await session.scalar(select(users.c.id).where(await has_address(provider, address)))
    assert found is not None
    return found


def without(address: str, page: httpx.Response) -> str:
    return page.text.replace(html.escape(address), "ADDRESS")


# --- registration and confirmation --------------------------------------------------------------------------


async def test_a_person_registers_confirms_the_address_from_the_mail_and_the_application_gets_its_code(
    provider: Provider, inbox: Mailbox
) -> None:
    address = new_address()
    verifier = generate_token(64)
    async with web_client(provider) as client, browser() as person:
        url, _ = client.create_authorization_url(provider.metadata["authorization_endpoint"], code_verifier=verifier)
        to_sign_in = await person.get(url)
        sign_in_page = await person.get(urljoin(url, to_sign_in.headers["location"]))
        register_href = re.search(r'href="(register\?[^"]+)"', sign_in_page.text)
        assert register_href is not None, "the sign-in page links to the registration page"
        registration_url = urljoin(str(sign_in_page.url), html.unescape(register_href.group(1)))

        registered = await submit(
            person, registration_url, "register", email=address, name="Noor Haddad", password=DEMO_PASSWORD
        )
        assert registered.status_code == 200, registered.text
        assert "Check your e-mail" in registered.text

        user_id = await user_id_of(provider, address)
        [event] = await published(provider, "identity.user.registered", user_id)
        assert event["roles"] == ["patient"]
        assert event["locale"] == "en"
        async with provider.runtime.sessionmaker() as session:
            stored = (await session.execute(select(account_tokens).where(account_tokens.c.user_id == user_id))).one()
            verified_at = await session.scalar(select(users.c.email_verified_at).where(users.c.id == user_id))
        assert verified_at is None

        mail = await inbox.next_to(address)
        assert mail["Subject"] == "Confirm your e-mail address for Kairos"
        assert mail["From"] == "Kairos <no-reply@kairos.test>"
        link = link_in(mail)
        secret = parse_qs(urlsplit(link).query)["token"][0]
        assert stored.token_hash == token_digest(secret)  # only a digest is kept
        assert secret.encode() not in stored.token_hash

        # Before confirming: the right password does not open a session, and the page offers the link again.
        unconfirmed = await sign_in_with(provider, person, address, DEMO_PASSWORD)
        assert unconfirmed.status_code == 403
        assert alert(unconfirmed) == MESSAGES["en"]["unverified"]
        assert MESSAGES["en"]["resend"] in unconfirmed.text
        assert SESSION_COOKIE not in person.cookies

        confirm_page = await person.get(link)
        assert confirm_page.status_code == 200
        confirmed = await person.post(urljoin(link, "verify-email"), data=form_fields(confirm_page.text))
        assert confirmed.status_code == 200, confirmed.text
        assert "Your e-mail address is confirmed" in confirmed.text
        [verified] = await published(provider, "identity.user.email_verified", user_id)
        assert verified["user_id"] == str(user_id)

        # The same link a second time: refused.
        again = await person.post(urljoin(link, "verify-email"), data=form_fields(confirm_page.text))
        assert again.status_code == 400
        assert await published(provider, "identity.user.email_verified", user_id) == [verified]
        assert await audited(provider, user_id) == [
            ("create", ["display_name", "email", "locale", "password"]),
            ("update", ["email_verified_at"]),
        ]

        # Continue to sign in, and from there back into the application's authorization request.
        continue_to = re.search(r'<a class="button" href="([^"]+)"', confirmed.text)
        assert continue_to is not None
        signed_in = await submit(
            person, html.unescape(continue_to.group(1)), "sign-in", email=address, password=DEMO_PASSWORD
        )
        assert signed_in.status_code == 303, signed_in.text
        back = await person.get(urljoin(str(signed_in.url), signed_in.headers["location"]))
        assert back.status_code == 302, back.text
        token = await client.fetch_token(
            provider.metadata["token_endpoint"], authorization_response=back.headers["location"], code_verifier=verifier
        )
    claims = jwt.decode(token["id_token"], options={"verify_signature": False})
    assert claims["sub"] == str(user_id)
    assert claims["email"] == address
    assert claims["email_verified"] is True


async def test_registering_a_taken_address_answers_alike_and_mails_the_owner_instead(
    provider: Provider, inbox: Mailbox
) -> None:
    fresh = new_address()
    already_had = len(inbox.to(PATIENT))
    async with browser() as stranger:
        for_fresh = await register(provider, stranger, fresh)
    async with browser() as stranger:
        for_taken = await register(provider, stranger, PATIENT)

    assert (for_taken.status_code, for_fresh.status_code) == (200, 200)
    assert without(PATIENT, for_taken) == without(fresh, for_fresh)
    assert set(for_taken.cookies) == set(for_fresh.cookies)
    owner_mail = await inbox.next_to(PATIENT, after=already_had)
    assert owner_mail["Subject"] == "You already have a Kairos account"
    assert "forgot-password" in owner_mail.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    async with provider.runtime.sessionmaker() as session:
        assert await session.scalar(select(func.count()).where(await has_address(provider, PATIENT))) == 1
    async with browser() as owner:  # the owner's password is untouched
        assert (await sign_in_with(provider, owner, PATIENT, DEMO_PASSWORD)).status_code == 303


async def test_registration_in_french_is_answered_and_mailed_in_french(provider: Provider, inbox: Mailbox) -> None:
    address = new_address()
    async with browser() as person:
        form = await person.get(f"{provider.issuer}/register?lang=fr")
        assert MESSAGES["fr"]["register_title"] in html.unescape(form.text)
        registered = await register(provider, person, address, lang="fr")
    assert registered.status_code == 200
    assert MESSAGES["fr"]["registered_title"] in html.unescape(registered.text)
    mail = await inbox.next_to(address)
    assert mail["Subject"] == "Confirmez votre adresse e-mail pour Kairos"
    assert mail["Content-Language"] == "fr"
    assert "lang=fr" in link_in(mail)
    [event] = await published(provider, "identity.user.registered", await user_id_of(provider, address))
    assert event["locale"] == "fr"


async def test_a_registration_the_rules_refuse_is_explained_on_the_page_and_creates_nothing(
    provider: Provider,
) -> None:
    address = new_address()
    async with browser() as person:
        weak = await submit(
            person, f"{provider.issuer}/register", "register", email=address, name="Noor", password="password123"
        )
        no_address = await submit(
            person, f"{provider.issuer}/register", "register", email="not an address", name="", password=DEMO_PASSWORD
        )
    assert weak.status_code == 422
    assert "at least 15 characters" in weak.text
    assert no_address.status_code == 422
    assert MESSAGES["en"]["email_invalid"] in html.unescape(no_address.text)
    assert MESSAGES["en"]["name_missing"] in html.unescape(no_address.text)
    async with provider.runtime.sessionmaker() as session:
        assert await session.scalar(select(func.count()).where(await has_address(provider, address))) == 0


async def test_the_confirmation_link_can_be_sent_again_and_the_newest_one_confirms(
    provider: Provider, inbox: Mailbox
) -> None:
    address = new_address()
    async with browser() as person:
        await register(provider, person, address)
        first = link_in(await inbox.next_to(address))
        refused = await sign_in_with(provider, person, address, DEMO_PASSWORD)
        resent = await person.post(f"{provider.issuer}/verify-email/resend", data=form_fields(refused.text))
        assert resent.status_code == 200
        assert MESSAGES["en"]["resent"] in html.unescape(resent.text)
        second = link_in(await inbox.next_to(address, after=1))
        assert second != first
        page = await person.get(second)
        confirmed = await person.post(urljoin(second, "verify-email"), data=form_fields(page.text))
        assert confirmed.status_code == 200
        assert (await sign_in_with(provider, person, address, DEMO_PASSWORD)).status_code == 303


async def test_a_confirmation_link_expires_after_two_days(provider: Provider, inbox: Mailbox) -> None:
    address = new_address()
    async with browser() as person:
        await register(provider, person, address)
        link = link_in(await inbox.next_to(address))
        page = await person.get(link)
        provider.clock.advance(timedelta(hours=48, seconds=1))
        expired = await person.post(urljoin(link, "verify-email"), data=form_fields(page.text))
        assert expired.status_code == 400
        assert (await person.get(link)).status_code == 400
    async with provider.runtime.sessionmaker() as session:
        verified_at = await session.scalar(
            select(users.c.email_verified_at).where(await has_address(provider, address))
        )
    assert verified_at is None


# --- password reset ------------------------------------------------------------------------------------------


async def test_a_reset_link_sets_a_new_password_once_and_ends_every_session(provider: Provider, inbox: Mailbox) -> None:
    address = await create_person(provider)
    elsewhere = await sign_in(provider, address)  # signed in on another device, with tokens
    async with browser() as person:
        asked = await ask_for_reset(provider, person, address)
        assert asked.status_code == 200
        mail = await inbox.next_to(address)
        assert mail["Subject"] == "Reset your Kairos password"
        link = link_in(mail)

        weak = await submit(person, link, "reset-password", password="short")
        assert weak.status_code == 422
        assert "at least 15 characters" in weak.text
        form = await person.get(link)  # the link survives a refused password
        reset = await person.post(
            urljoin(link, "reset-password"), data={**form_fields(form.text), "password": NEW_PASSWORD}
        )
        assert reset.status_code == 200, reset.text
        assert "Your password is changed" in reset.text
        changed_mail = await inbox.next_to(address, after=1)
        assert changed_mail["Subject"] == "Your Kairos password was changed"

        assert (await person.get(link)).status_code == 400  # used up
        replay = await person.post(
            urljoin(link, "reset-password"),
            data={**form_fields(form.text), "password": "amber canyon lighthouse sparrow"},
        )
        assert replay.status_code == 400
        assert (await sign_in_with(provider, person, address, DEMO_PASSWORD)).status_code == 401
        assert (await sign_in_with(provider, person, address, NEW_PASSWORD)).status_code == 303
    assert await audited(provider, elsewhere.user_id) == [("update", ["password"])]

    async with httpx.AsyncClient() as client:
        refreshed = await client.post(
            provider.metadata["token_endpoint"],
            data={
                "grant_type": "refresh_token",
                "refresh_token": elsewhere.refresh_token,
                "client_id": provider.web_client_id,
            },
        )
        assert refreshed.status_code == 400
        assert refreshed.json()["error"] == "invalid_grant"
        userinfo = await client.get(provider.metadata["userinfo_endpoint"], headers=elsewhere.bearer)
        assert userinfo.status_code == 401
    async with httpx.AsyncClient(cookies={SESSION_COOKIE: elsewhere.session_cookie}) as old_browser:
        old_session = await old_browser.get(f"{provider.issuer}/sign-in/code")
        assert old_session.status_code == 303
        assert "/sign-in" in old_session.headers["location"]


async def test_a_reset_link_expires_after_30_minutes(provider: Provider, inbox: Mailbox) -> None:
    address = await create_person(provider)
    async with browser() as person:
        await ask_for_reset(provider, person, address)
        link = link_in(await inbox.next_to(address))
        page = await person.get(link)
        assert page.status_code == 200
        provider.clock.advance(timedelta(minutes=30))
        expired = await person.post(
            urljoin(link, "reset-password"), data={**form_fields(page.text), "password": NEW_PASSWORD}
        )
        assert expired.status_code == 400
        assert MESSAGES["en"]["link_invalid"] in html.unescape(expired.text)
        assert (await sign_in_with(provider, person, address, DEMO_PASSWORD)).status_code == 303


async def test_a_reset_lifts_the_hard_limit_of_failed_sign_ins_and_confirms_the_address(
    provider: Provider, inbox: Mailbox
) -> None:
    async with provider.runtime.unit_of_work() as uow:  # an operator-made account, never confirmed
        address = new_address()
        await create_user(
            uow=uow, email=address, password=DEMO_PASSWORD, display_name="Noor", roles=frozenset({Role.PATIENT})
        )
        await uow.commit()
    subject = password_subject(await email_lookup(provider.runtime.cipher, address))
    async with provider.runtime.sessionmaker() as session:  # the password guessed wrong to the limit
        await session.execute(
            pg_insert(failure_streaks).values(subject=subject, failures=10, last_failed_at=provider.clock.now())
        )
        await session.commit()
    async with browser() as person:
        assert (await sign_in_with(provider, person, address, DEMO_PASSWORD)).status_code == 429
        await ask_for_reset(provider, person, address)
        reset = await submit(person, link_in(await inbox.next_to(address)), "reset-password", password=NEW_PASSWORD)
        assert reset.status_code == 200
        assert (await sign_in_with(provider, person, address, NEW_PASSWORD)).status_code == 303
    assert len(await published(provider, "identity.user.email_verified", await user_id_of(provider, address))) == 1


async def test_asking_for_a_reset_answers_alike_for_unknown_addresses_and_mails_them_nothing(
    provider: Provider, inbox: Mailbox
) -> None:
    known, unknown = await create_person(provider), new_address()
    async with browser() as stranger:
        for_unknown = await ask_for_reset(provider, stranger, unknown)
    async with browser() as stranger:
        for_known = await ask_for_reset(provider, stranger, known)
    assert (for_unknown.status_code, for_known.status_code) == (200, 200)
    assert without(unknown, for_unknown) == without(known, for_known)
    await inbox.next_to(known)  # delivered after the unknown one would have been
    assert inbox.to(unknown) == []


async def test_reset_requests_are_throttled_per_address_and_per_network_alike_for_unknown_addresses(
    base_settings: Settings, mailbox: tuple[Mailbox, int]
) -> None:
    def tight(state: IdentityState) -> None:
        state.settings = IdentitySettings(trust_forwarded_for=True)
        state.mail_sender = smtp_at(mailbox[1])
        state.mail_request_policy = MailRequestPolicy(
            per_address=BudgetRule(burst=2, refill=timedelta(minutes=20)),
            per_network=BudgetRule(burst=4, refill=timedelta(minutes=5)),
        )

    async with running_provider(base_settings, configure=tight) as provider:
        known = await create_person(provider)
        for address in (known, new_address()):
            statuses = []
            for _ in range(3):
                async with browser() as stranger:  # a new network each time: only the address counts
                    statuses.append((await ask_for_reset(provider, stranger, address)).status_code)
            assert statuses == [200, 200, 429]
        async with browser() as stranger:
            refused = await ask_for_reset(provider, stranger, known)
            assert refused.status_code == 429
            assert 0 < int(refused.headers["retry-after"]) <= 20 * 60
            assert alert(refused).startswith("Too many requests")

        async with browser() as one_network:
            statuses = [(await ask_for_reset(provider, one_network, new_address())).status_code for _ in range(5)]
            assert statuses == [200, 200, 200, 200, 429]
            provider.clock.advance(timedelta(minutes=5))
            assert (await ask_for_reset(provider, one_network, new_address())).status_code == 200

        provider.clock.advance(timedelta(minutes=20))
        async with browser() as stranger:
            assert (await ask_for_reset(provider, stranger, known)).status_code == 200


# --- CSRF --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "form", ["register", "forgot-password", "reset-password", "verify-email", "verify-email/resend"]
)
async def test_a_form_without_its_csrf_token_or_with_a_wrong_one_is_refused(provider: Provider, form: str) -> None:
    fields = {"email": new_address(), "name": "Noor", "password": NEW_PASSWORD, "token": "x" * 43}
    async with browser() as person:
        missing = await person.post(f"{provider.issuer}/{form}", data=fields)
        await person.get(f"{provider.issuer}/register")  # now the browser holds a CSRF cookie
        wrong = await person.post(f"{provider.issuer}/{form}", data={**fields, "csrf_token": "forged"})
    assert (missing.status_code, wrong.status_code) == (403, 403)
    assert MESSAGES["en"]["csrf_failed"] in html.unescape(wrong.text)
    async with provider.runtime.sessionmaker() as session:
        assert await session.scalar(select(func.count()).where(await has_address(provider, fields["email"]))) == 0


# --- account creation and mail delivery -------------------------------------------------------------------


async def test_two_creations_of_one_address_racing_end_in_account_exists_not_a_crash(provider: Provider) -> None:
    address = new_address()

    async def create() -> uuid.UUID:
        async with provider.runtime.unit_of_work() as uow:
            user_id = await create_user(
                uow=uow, email=address, password=None, display_name="Racer", roles=frozenset({Role.PATIENT})
            )
            await uow.commit()
            return user_id

    async with provider.runtime.unit_of_work() as first:
        await create_user(
            uow=first, email=address, password=None, display_name="First", roles=frozenset({Role.PATIENT})
        )
        second = asyncio.create_task(create())  # its check sees nothing yet; its insert waits on the index
        async with provider.runtime.sessionmaker() as session:
            for _ in range(400):
                waiting = await session.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND wait_event_type = 'Lock' AND query ILIKE 'INSERT INTO users%'"
                    )
                )
                await session.rollback()  # pg_stat_activity is read once per transaction
                if waiting:
                    break
                await asyncio.sleep(0.025)
        assert waiting == 1
        await first.commit()
    with pytest.raises(AccountExists):
        await second


async def test_a_mail_the_server_cannot_take_is_kept_and_sent_on_a_later_attempt(
    provider: Provider, inbox: Mailbox, mailbox: tuple[Mailbox, int]
) -> None:
    delivery = provider.identity.mail_delivery
    assert delivery is not None
    address = await create_person(provider)
    delivery.sender = smtp_at(_free_port())  # nothing listens there
    try:
        async with browser() as person:
            await ask_for_reset(provider, person, address)
        row = await _mail_attempted(provider)
        assert row.attempts == 1
        assert row.sent_at is None
        assert "SMTP" in row.last_error or "Connect" in row.last_error
    finally:
        delivery.sender = smtp_at(mailbox[1])
    assert await delivery.deliver_due() == 0  # not due before its retry delay
    assert inbox.to(address) == []
    provider.clock.advance(timedelta(seconds=31))
    delivery.wake()
    mail = await inbox.next_to(address)
    assert mail["Subject"] == "Reset your Kairos password"
    # The SMTP server has the mail before the worker commits that it was sent: wait for that commit.
    sent = await _mail_sent(provider, row.id)
    assert sent.message is None  # the link is gone from the database once sent
    assert sent.attempts == 2


async def test_a_mail_the_server_refuses_for_good_is_abandoned(provider: Provider) -> None:
    address = f"{unique_name('gone-')}@{REFUSED_DOMAIN}"
    async with provider.runtime.unit_of_work() as uow:
        await create_user(
            uow=uow,
            email=address,
            password=DEMO_PASSWORD,
            display_name="Gone",
            roles=frozenset({Role.PATIENT}),
            email_verified=True,
        )
        await uow.commit()
    async with browser() as person:
        assert (await ask_for_reset(provider, person, address)).status_code == 200
    row = await _mail_attempted(provider, abandoned=True)
    assert row.attempts == 1
    assert row.message is None
    assert "550" in row.last_error


async def _mail_sent(provider: Provider, mail_id: Any) -> Any:
    for _ in range(400):
        async with provider.runtime.sessionmaker() as session:
            row = (await session.execute(select(outgoing_mails).where(outgoing_mails.c.id == mail_id))).one()
        if row.sent_at is not None:
            return row
        await asyncio.sleep(0.025)
    raise AssertionError("the mail was not recorded as sent")


async def _mail_attempted(provider: Provider, *, abandoned: bool = False) -> Any:
    """The newest outgoing mail once its first attempt has failed."""
    for _ in range(400):
        async with provider.runtime.sessionmaker() as session:
            row = (
                await session.execute(select(outgoing_mails).order_by(outgoing_mails.c.created_at.desc()).limit(1))
            ).one()
        if row.last_error is not None and (row.abandoned_at is not None) == abandoned:
            return row
        await asyncio.sleep(0.025)
    raise AssertionError("the mail was not attempted")
