"""The account lifecycle a person drives from the sign-in pages: registering, confirming the e-mail address,
resetting a forgotten password. Each step is one unit of work; the mails it sends are queued in it
(``kairos.identity.mail``), so a token is never stored without its mail or mailed without being stored.

Whether an address has an account never shows: registering a taken address sends that address a "you
already have an account" mail instead, and asking for a reset of an unknown address sends nothing; the page
and its status are the same either way, and the password is hashed either way so that timing does not tell.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

import structlog
from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from kairos.contracts.events.audit import AuditAction
from kairos.contracts.events.identity import EmailVerified
from kairos.identity.account_texts import MAILS
from kairos.identity.blocklist import common_passwords
from kairos.identity.domain.account_tokens import (
    AccountToken,
    MailRequestPolicy,
    RequestBucket,
    TokenNotValid,
    TokenPurpose,
    TokenRefusal,
    TooManyRequests,
    check_mail_request,
    issue_token,
    token_digest,
)
from kairos.identity.domain.roles import Role
from kairos.identity.domain.throttling import address_key
from kairos.identity.mail import compose, queue_mail
from kairos.identity.mfa import Authenticators
from kairos.identity.pages import DEFAULT_LANGUAGE
from kairos.identity.repository import email_lookup, load_account_record, normalised_email
from kairos.identity.service import POLICY, AccountExists, create_user
from kairos.identity.state import IdentityState
from kairos.identity.tables import (
    access_tokens,
    account_tokens,
    browser_sessions,
    refresh_tokens,
    request_budgets,
    users,
)
from kairos.identity.throttle import SignInThrottle
from kairos.platform import audit
from kairos.platform.db.uow import UnitOfWork

log = structlog.get_logger(__name__)


class MailRequestsThrottled(Exception):
    """Too many mails asked for this address or from this network; ``until`` says when to try again."""

    def __init__(self, refusal: TooManyRequests) -> None:
        super().__init__("too many mail requests")
        self.until = refusal.until


@dataclass(frozen=True)
class Person:
    id: uuid.UUID
    email: str
    display_name: str
    locale: str
    is_verified: bool


# --- the steps ------------------------------------------------------------------------------------------------


async def register(
    *, identity: IdentityState, email: str, display_name: str, password: str, language: str, address: str, next_url: str
) -> None:
    """Create a patient account waiting for its address to be confirmed, and mail the link; for an address
    that has an account, mail that instead. Raises ``PasswordNotAccepted`` or ``MailRequestsThrottled``."""
    normalised = normalised_email(email)
    POLICY.check(password, blocklist=common_passwords(), has_mfa=False, email=normalised).raise_if_not_acceptable()
    await _charge_mail_request(identity, email=normalised, address=address)
    password_hash = await identity.hasher.hash_async(password)  # also for a taken address: same time
    at = identity.clock.now()
    async with identity.runtime.unit_of_work() as uow:
        try:
            user_id = await create_user(
                uow=uow,
                email=normalised,
                password=None,
                password_hash=password_hash,
                display_name=display_name.strip(),
                roles=frozenset({Role.PATIENT}),
                locale=language,
            )
        except AccountExists:
            await uow.rollback()
            existing = await _person(uow, email=normalised)
            if existing is not None:
                await _mail(identity, uow, existing, "already_registered", at=at)
            log.info("identity.registration_of_existing_address")
        else:
            person = Person(user_id, normalised, display_name.strip(), language, is_verified=False)
            await _issue_and_mail(identity, uow, person, TokenPurpose.VERIFY_EMAIL, next_url=next_url, at=at)
            _audit(uow, user_id, "create", ("display_name", "email", "locale", "password"))
            log.info("identity.user_registered", user_id=str(user_id))
        await uow.commit()
    identity.mail_queued()


async def resend_verification(*, identity: IdentityState, email: str, address: str, next_url: str) -> None:
    """A new confirmation link for an account still waiting for one; nothing for any other address."""
    normalised = normalised_email(email)
    await _charge_mail_request(identity, email=normalised, address=address)
    async with identity.runtime.unit_of_work() as uow:
        person = await _person(uow, email=normalised)
        if person is not None and not person.is_verified:
            at = identity.clock.now()
            await _issue_and_mail(identity, uow, person, TokenPurpose.VERIFY_EMAIL, next_url=next_url, at=at)
        await uow.commit()
    identity.mail_queued()


async def check_link(*, identity: IdentityState, token: str, purpose: TokenPurpose) -> None:
    """Whether a link may still be used (it is not used by looking); raises ``TokenNotValid``."""
    async with identity.runtime.unit_of_work() as uow:
        stored = await _token(uow.session, token, lock=False)
        stored.redeem(purpose=purpose, at=identity.clock.now())


async def verify_email(*, identity: IdentityState, token: str) -> str:
    """Confirm the address the link was sent to; where to continue (an authorization request) or ''."""
    async with identity.runtime.unit_of_work() as uow:
        stored, next_url = await _redeem(uow, identity, token, TokenPurpose.VERIFY_EMAIL)
        await _mark_verified(uow, stored.user_id, at=stored.used_at or identity.clock.now())
        _audit(uow, stored.user_id, "update", ("email_verified_at",))
        await uow.commit()
    log.info("identity.email_verified", user_id=str(stored.user_id))
    return next_url


async def request_password_reset(*, identity: IdentityState, email: str, address: str, next_url: str) -> None:
    """Mail a reset link to the account using this address, if there is one."""
    normalised = normalised_email(email)
    await _charge_mail_request(identity, email=normalised, address=address)
    async with identity.runtime.unit_of_work() as uow:
        person = await _person(uow, email=normalised)
        if person is not None:
            at = identity.clock.now()
            await _issue_and_mail(identity, uow, person, TokenPurpose.RESET_PASSWORD, next_url=next_url, at=at)
            log.info("identity.password_reset_requested", user_id=str(person.id))
        await uow.commit()
    identity.mail_queued()


async def reset_password(*, identity: IdentityState, token: str, password: str) -> str:
    """Replace the password with the link's permission, and end everything signed in with the old one: every
    browser session, refresh and access token. Lifts the throttle's hard limit (800-63B-4 §3.2.2); answering
    the mail proves the address too. Raises ``TokenNotValid`` or ``PasswordNotAccepted`` (the link stays
    usable then); returns where to continue."""
    async with identity.runtime.unit_of_work() as uow:
        stored, next_url = await _redeem(uow, identity, token, TokenPurpose.RESET_PASSWORD)
        person = await _person(uow, user_id=stored.user_id)
        if person is None:
            raise TokenNotValid(TokenRefusal.UNKNOWN)
        has_mfa = await Authenticators(uow.session, identity.runtime.cipher).has_totp(person.id)
        POLICY.check(
            password, blocklist=common_passwords(), has_mfa=has_mfa, email=person.email
        ).raise_if_not_acceptable()
        at = stored.used_at or identity.clock.now()
        password_hash = await identity.hasher.hash_async(password)
        await uow.session.execute(update(users).where(users.c.id == person.id).values(password_hash=password_hash))
        # Other reset links sent before this one die with the old password.
        await uow.session.execute(
            update(account_tokens)
            .where(
                account_tokens.c.user_id == person.id,
                account_tokens.c.purpose == TokenPurpose.RESET_PASSWORD.value,
                account_tokens.c.used_at.is_(None),
            )
            .values(used_at=at)
        )
        await _mark_verified(uow, person.id, at=at)
        await SignInThrottle(uow.session, identity.throttle_policy).clear_password_failures(
            account=await email_lookup(uow.cipher, person.email)
        )
        ended = await _end_everything_signed_in(uow.session, person.id, at=at)
        await _mail(identity, uow, person, "password_changed", at=at)
        _audit(uow, person.id, "update", ("password",))
        await uow.commit()
    identity.mail_queued()
    log.info("identity.password_reset", user_id=str(person.id), sessions_ended=ended)
    return next_url


# --- helpers --------------------------------------------------------------------------------------------------


def _audit(uow: UnitOfWork, user_id: uuid.UUID, action: AuditAction, fields: tuple[str, ...]) -> None:
    """The person acts on their own account: by registering, or by holding the link mailed to them."""
    audit.record(
        uow,
        actor=str(user_id),
        action=action,
        resource_type="identity.account",
        resource_id=user_id,
        data_subject=user_id,
        fields=fields,
    )


async def _person(uow: UnitOfWork, *, email: str | None = None, user_id: uuid.UUID | None = None) -> Person | None:
    account = await load_account_record(uow.session, uow.cipher, email=email, user_id=user_id, is_enabled=True)
    if account is None:
        return None
    return Person(account.id, account.email, account.display_name, account.locale, account.is_email_verified)


async def _token(session: AsyncSession, token: str, *, lock: bool) -> AccountToken:
    query = select(account_tokens).where(account_tokens.c.token_hash == token_digest(token))
    row = (await session.execute(query.with_for_update() if lock else query)).mappings().first()
    if row is None:
        raise TokenNotValid(TokenRefusal.UNKNOWN)
    return AccountToken(row["user_id"], TokenPurpose(row["purpose"]), row["expires_at"], row["used_at"])


async def _redeem(
    uow: UnitOfWork, identity: IdentityState, token: str, purpose: TokenPurpose
) -> tuple[AccountToken, str]:
    """The token, used now (row locked: two uses racing are one use), and the request to continue."""
    stored = await _token(uow.session, token, lock=True)
    try:
        used = stored.redeem(purpose=purpose, at=identity.clock.now())
    except TokenNotValid as refused:
        log.info("identity.link_refused", purpose=purpose.value, reason=refused.reason.value)
        raise
    digest = token_digest(token)
    await uow.session.execute(
        update(account_tokens).where(account_tokens.c.token_hash == digest).values(used_at=used.used_at)
    )
    next_url = await uow.session.scalar(select(account_tokens.c.next_url).where(account_tokens.c.token_hash == digest))
    return used, next_url or ""


async def _mark_verified(uow: UnitOfWork, user_id: uuid.UUID, *, at: datetime) -> None:
    changed = await uow.session.execute(
        update(users)
        .where(users.c.id == user_id, users.c.email_verified_at.is_(None))
        .values(email_verified_at=at)
        .returning(users.c.id)
    )
    if changed.first() is not None:
        uow.publish(EmailVerified(user_id=user_id, verified_at=at), subject=f"user:{user_id}")


async def _end_everything_signed_in(session: AsyncSession, user_id: uuid.UUID, *, at: datetime) -> int:
    ended = await session.execute(
        update(browser_sessions)
        .where(browser_sessions.c.user_id == user_id, browser_sessions.c.revoked_at.is_(None))
        .values(revoked_at=at)
        .returning(browser_sessions.c.id)
    )
    await session.execute(
        update(refresh_tokens)
        .where(refresh_tokens.c.user_id == user_id, refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=at)
    )
    await session.execute(
        update(access_tokens)
        .where(access_tokens.c.user_id == user_id, access_tokens.c.revoked_at.is_(None))
        .values(revoked_at=at)
    )
    return len(ended.all())


async def _issue_and_mail(
    identity: IdentityState, uow: UnitOfWork, person: Person, purpose: TokenPurpose, *, next_url: str, at: datetime
) -> None:
    issued = issue_token(purpose, at=at)
    await uow.session.execute(
        insert(account_tokens).values(
            token_hash=issued.digest,
            user_id=person.id,
            purpose=purpose.value,
            created_at=at,
            expires_at=issued.expires_at,
            next_url=next_url or None,
        )
    )
    page = "verify-email" if purpose is TokenPurpose.VERIFY_EMAIL else "reset-password"
    link = f"{identity.issuer}/{page}?{urlencode({'token': issued.secret, 'lang': _language_of(person)})}"
    await _mail(identity, uow, person, purpose.value, at=at, link=link)


async def _mail(
    identity: IdentityState, uow: UnitOfWork, person: Person, kind: str, *, at: datetime, link: str = ""
) -> None:
    language = _language_of(person)
    subject, body = MAILS[language][kind]
    query = urlencode({"lang": language})
    text = body.format(
        name=person.display_name,
        link=link,
        sign_in=f"{identity.issuer}/sign-in?{query}",
        forgot=f"{identity.issuer}/forgot-password?{query}",
    )
    message = compose(
        sender=identity.settings.mail_from, to=person.email, subject=subject, text=text, language=language
    )
    await queue_mail(uow.session, identity.runtime.cipher, message, at=at)


def _language_of(person: Person) -> str:
    language = person.locale.split("-")[0].lower()
    return language if language in MAILS else DEFAULT_LANGUAGE


async def _charge_mail_request(identity: IdentityState, *, email: str, address: str) -> None:
    """Count one mail request against the typed address and the network, or refuse it (and count nothing)."""
    policy: MailRequestPolicy = identity.mail_request_policy
    # The typed address by its keyed lookup hash: an unkeyed digest could be matched against a list of addresses.
    typed = await email_lookup(identity.runtime.cipher, email)
    subjects = (f"address:{typed.hex()}", f"network:{address_key(address)}")
    at = identity.clock.now()
    async with identity.runtime.unit_of_work() as uow:
        buckets = []
        for subject in subjects:  # always in this order: two requests never wait on each other in a circle
            await uow.session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(f"mail:{subject}", 0))))
            drained_at = await uow.session.scalar(
                select(request_budgets.c.drained_at).where(request_budgets.c.subject == subject)
            )
            buckets.append(RequestBucket(drained_at))
        refusal = check_mail_request(address=buckets[0], network=buckets[1], policy=policy, at=at)
        if refusal is not None:
            log.info("identity.mail_requests_throttled")
            raise MailRequestsThrottled(refusal)
        for subject, bucket, rule in zip(subjects, buckets, (policy.per_address, policy.per_network), strict=True):
            drained_at = bucket.after_request(rule, at=at).drained_at
            await uow.session.execute(
                pg_insert(request_budgets)
                .values(subject=subject, drained_at=drained_at)
                .on_conflict_do_update(index_elements=["subject"], set_={"drained_at": drained_at})
            )
        await uow.commit()
