"""Composing identity's mails, choosing the sender from the settings, and which SMTP failures are final."""

from __future__ import annotations

import asyncio
import email.policy
from email.parser import BytesParser
from pathlib import Path

import aiosmtplib
import pytest
from structlog.testing import capture_logs

from kairos.identity.mail import LoggingSender, SmtpSender, _is_permanent, compose, sender_for
from kairos.identity.settings import IdentitySettings, load_identity_settings


def test_a_mail_is_plain_text_in_its_language_and_asks_for_no_auto_reply() -> None:
    message = compose(
        sender="Kairos <no-reply@kairos.test>",
        to="noor@example.org",
        subject="Réinitialisez votre mot de passe Kairos",
        text="Bonjour Noor,\n\nhttps://kairos.test/reset-password?token=abc\n",
        language="fr",
    )
    parsed = BytesParser(policy=email.policy.default).parsebytes(message.as_bytes())
    assert parsed["Subject"] == "Réinitialisez votre mot de passe Kairos"
    assert parsed["Content-Language"] == "fr"
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed.get_content_type() == "text/plain"
    assert "token=abc" in parsed.get_content()


def test_without_an_smtp_host_mails_go_to_the_log_with_their_link() -> None:
    assert isinstance(sender_for(IdentitySettings(smtp_host="mail.example.org")), SmtpSender)
    sender = sender_for(IdentitySettings())
    assert isinstance(sender, LoggingSender)
    message = compose(sender="a@b.c", to="noor@example.org", subject="Hello", text="open https://x/y", language="en")

    with capture_logs() as logs:
        asyncio.run(sender.send(message))
    assert logs == [
        {
            "event": "identity.mail_logged",
            "log_level": "warning",
            "to": "noor@example.org",
            "subject": "Hello",
            "body": "open https://x/y\n",
        }
    ]


def test_only_a_5xx_answer_or_refused_recipients_end_the_retries() -> None:
    assert _is_permanent(aiosmtplib.SMTPResponseException(550, "No such mailbox"))
    assert _is_permanent(aiosmtplib.SMTPRecipientsRefused([]))
    assert not _is_permanent(aiosmtplib.SMTPResponseException(451, "Try again later"))
    assert not _is_permanent(aiosmtplib.SMTPConnectError("refused"))
    assert not _is_permanent(TimeoutError())


def test_the_smtp_password_may_come_from_the_secrets_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "kairos_identity_smtp_password").write_text("s3cret")
    monkeypatch.setenv("KAIROS_SECRETS_DIR", str(tmp_path))
    monkeypatch.setenv("KAIROS_IDENTITY_SMTP_HOST", "mail.example.org")
    settings = load_identity_settings()
    assert settings.smtp_host == "mail.example.org"
    assert settings.smtp_password is not None
    assert settings.smtp_password.get_secret_value() == "s3cret"
