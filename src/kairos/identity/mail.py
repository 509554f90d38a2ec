"""Identity's outgoing mail: written to its own table in the transaction that needs it, delivered later.

A use case that issues a token calls ``queue_mail`` in its unit of work: the message (with the link, so
encrypted with the service's data cipher) is committed together with the token's digest or not at all.
``MailDelivery`` then claims due mails (``FOR UPDATE SKIP LOCKED``, so several instances share the work),
hands each to the ``MailSender`` and records the outcome: sent (the message is erased), or a later attempt
after a growing delay, or abandoned after the last one or a permanent refusal (5xx). A claim holds a mail for
``CLAIM_LEASE``; an instance that dies mid-send leaves it to another after that, so a mail may rarely be sent
twice but is never lost (at-least-once, like the event outbox).

Why not an integration event handled by identity itself: the message holds a live link, and events travel
through queues and logs outside identity's encryption (see ``kairos.contracts.events.identity``).
"""

from __future__ import annotations

import asyncio
import email.policy
from collections.abc import Sequence
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, make_msgid
from typing import Protocol
from uuid import UUID

import aiosmtplib
import structlog
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kairos.identity.settings import IdentitySettings, SmtpSecurity
from kairos.identity.tables import outgoing_mails
from kairos.platform.aio import wait_event
from kairos.platform.clock import Clock
from kairos.platform.crypto.cipher import DataCipher
from kairos.platform.ids import new_id

log = structlog.get_logger(__name__)

RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(hours=1),
    timedelta(hours=6),
)
CLAIM_LEASE = timedelta(minutes=5)
POLL_SECONDS = 5.0
BATCH_SIZE = 20


class MailSender(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


class SmtpSender:
    """Sends through an SMTP server with aiosmtplib (STARTTLS, implicit TLS or plain, optional login)."""

    def __init__(self, settings: IdentitySettings) -> None:
        if settings.smtp_host is None:
            raise ValueError("no SMTP host configured")
        self._settings = settings

    async def send(self, message: EmailMessage) -> None:
        settings = self._settings
        await aiosmtplib.send(
            message,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            use_tls=settings.smtp_security is SmtpSecurity.TLS,
            start_tls=settings.smtp_security is SmtpSecurity.STARTTLS,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            timeout=settings.smtp_timeout,
        )


class LoggingSender:
    """For development without an SMTP server (the all-in-one demo): the mail goes to the log, link included,
    so the developer can follow it. Never configure this where real people register."""

    async def send(self, message: EmailMessage) -> None:
        body = message.get_body(preferencelist=("plain",))
        log.warning(
            "identity.mail_logged",
            to=message["To"],
            subject=message["Subject"],
            body=body.get_content() if body is not None else "",
        )


def sender_for(settings: IdentitySettings) -> MailSender:
    return SmtpSender(settings) if settings.smtp_host else LoggingSender()


def compose(*, sender: str, to: str, subject: str, text: str, language: str) -> EmailMessage:
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to it
    message.set_content(text)
    message["Content-Language"] = language  # after set_content, which replaces every Content-* header
    return message


def _context(mail_id: UUID) -> bytes:
    return f"identity.outgoing_mails.message:{mail_id}".encode()


async def queue_mail(session: AsyncSession, cipher: DataCipher, message: EmailMessage, *, at: datetime) -> UUID:
    """Add a mail to the outbox in the caller's transaction; it is sent once that commits."""
    mail_id = new_id()
    del message["Date"], message["Message-ID"]
    message["Date"] = format_datetime(at)
    message["Message-ID"] = make_msgid(domain="kairos")
    sealed = await cipher.encrypt(message.as_bytes(policy=email.policy.SMTP), context=_context(mail_id))
    await session.execute(insert(outgoing_mails).values(id=mail_id, message=sealed, created_at=at, next_attempt_at=at))
    return mail_id


class MailDelivery:
    """The background worker that empties the mail outbox; ``wake`` after a commit that queued mail."""

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        cipher: DataCipher,
        sender: MailSender,
        clock: Clock,
        retry_delays: Sequence[timedelta] = RETRY_DELAYS,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._cipher = cipher
        self.sender = sender
        self.clock = clock
        self._retry_delays = tuple(retry_delays)
        self._poll_seconds = poll_seconds
        self._woken = asyncio.Event()

    def wake(self) -> None:
        self._woken.set()

    async def run(self) -> None:
        while True:
            await wait_event(self._woken, self._poll_seconds)
            self._woken.clear()
            try:
                while await self.deliver_due() == BATCH_SIZE:
                    pass
            except Exception:  # the database away for a moment: the next round tries again
                log.exception("identity.mail_delivery_failed")

    async def deliver_due(self) -> int:
        """Send the mails that are due now; how many were attempted."""
        claimed = await self._claim()
        for mail_id, sealed, attempts in claimed:
            await self._deliver(mail_id, sealed, attempts)
        return len(claimed)

    async def _claim(self) -> list[tuple[UUID, bytes, int]]:
        now = self.clock.now()
        async with self._sessionmaker() as session:
            due = (
                select(outgoing_mails.c.id)
                .where(
                    outgoing_mails.c.sent_at.is_(None),
                    outgoing_mails.c.abandoned_at.is_(None),
                    outgoing_mails.c.next_attempt_at <= now,
                )
                .order_by(outgoing_mails.c.next_attempt_at)
                .limit(BATCH_SIZE)
                .with_for_update(skip_locked=True)
            )
            rows = await session.execute(
                update(outgoing_mails)
                .where(outgoing_mails.c.id.in_(due.scalar_subquery()))
                .values(attempts=outgoing_mails.c.attempts + 1, next_attempt_at=now + CLAIM_LEASE)
                .returning(outgoing_mails.c.id, outgoing_mails.c.message, outgoing_mails.c.attempts)
            )
            claimed = [(row.id, row.message, row.attempts) for row in rows]
            await session.commit()
        return claimed

    async def _deliver(self, mail_id: UUID, sealed: bytes, attempts: int) -> None:
        try:
            raw = await self._cipher.decrypt(sealed, context=_context(mail_id))
            message = BytesParser(policy=email.policy.default).parsebytes(raw)
            await self.sender.send(message)
        except Exception as error:  # every failure is recorded and retried or given up, never raised
            await self._failed(mail_id, attempts, error)
            return
        await self._record(mail_id, sent_at=self.clock.now(), message=None)
        log.info("identity.mail_sent", mail_id=str(mail_id), attempts=attempts)

    async def _failed(self, mail_id: UUID, attempts: int, error: Exception) -> None:
        now = self.clock.now()
        reason = f"{type(error).__name__}: {error}"[:500]
        if _is_permanent(error) or attempts > len(self._retry_delays):
            await self._record(mail_id, abandoned_at=now, message=None, last_error=reason)
            log.error("identity.mail_abandoned", mail_id=str(mail_id), attempts=attempts, error=type(error).__name__)
            return
        delay = self._retry_delays[attempts - 1]
        await self._record(mail_id, next_attempt_at=now + delay, last_error=reason)
        log.warning("identity.mail_deferred", mail_id=str(mail_id), attempts=attempts, error=type(error).__name__)

    async def _record(self, mail_id: UUID, **values: object) -> None:
        async with self._sessionmaker() as session:
            await session.execute(update(outgoing_mails).where(outgoing_mails.c.id == mail_id).values(**values))
            await session.commit()


def _is_permanent(error: Exception) -> bool:
    """A 5xx answer (RFC 5321 §4.2.1) will not change by trying again; every refused recipient neither."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        return True
    return isinstance(error, aiosmtplib.SMTPResponseException) and 500 <= error.code < 600
