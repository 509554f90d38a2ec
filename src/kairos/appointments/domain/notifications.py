"""Notification rules of a domain: which change of an appointment tells whom, through which channels.

They are part of the domain's configuration (versioned with it). Appointments does not send anything: every
change event it publishes carries the rules resolved for that change (``notify``) and the reminders to
schedule, so the notification service can act without asking back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# The changes an appointment goes through (its integration events, without the "appointment." prefix), and
# "reminder": before the start of an appointment that holds its time.
CHANGES = (
    "requested",
    "approved",
    "declined",
    "cancelled",
    "proposed",
    "proposal_accepted",
    "proposal_rejected",
    "rescheduled",
    "arrived",
    "checked_in",
    "fulfilled",
    "no_show",
    "entered_in_error",
    "waitlist_offered",
    "reminder",
)
RECIPIENTS = ("patient", "professional", "staff")  # staff: the organisation's reception and admins
CHANNELS = ("email", "sms", "push", "in_app")


class InvalidNotificationRule(Exception):
    """A notification rule names an unknown change, recipient or channel, or misuses ``before_hours``."""


@dataclass(frozen=True)
class NotificationRule:
    change: str
    recipients: tuple[str, ...]
    channels: tuple[str, ...]
    before_hours: tuple[float, ...] = ()  # reminders only: how long before the start, each a reminder

    def __post_init__(self) -> None:
        if self.change not in CHANGES:
            raise InvalidNotificationRule(
                f"notification rule: unknown change {self.change!r} (one of {', '.join(CHANGES)})"
            )
        _require_known("recipient", self.recipients, RECIPIENTS, self.change)
        _require_known("channel", self.channels, CHANNELS, self.change)
        if self.change == "reminder":
            if not self.before_hours or any(hours <= 0 for hours in self.before_hours):
                raise InvalidNotificationRule("notification rule reminder: before_hours lists positive hours")
        elif self.before_hours:
            raise InvalidNotificationRule(f"notification rule {self.change}: before_hours is for reminders only")


def _require_known(what: str, given: tuple[str, ...], known: tuple[str, ...], change: str) -> None:
    if not given:
        raise InvalidNotificationRule(f"notification rule {change}: at least one {what}")
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise InvalidNotificationRule(
            f"notification rule {change}: unknown {what} {unknown} (one of {', '.join(known)})"
        )
    if len(set(given)) != len(given):
        raise InvalidNotificationRule(f"notification rule {change}: a {what} is listed twice")


@dataclass(frozen=True)
class Addressed:
    """One recipient of a change and the channels it is told through."""

    recipient: str
    channels: tuple[str, ...]


def addressed(rules: Iterable[NotificationRule], change: str) -> tuple[Addressed, ...]:
    """Who is told of a change, and through which channels (several rules for one change are merged)."""
    channels: dict[str, list[str]] = {}
    for rule in rules:
        if rule.change != change:
            continue
        for recipient in rule.recipients:
            known = channels.setdefault(recipient, [])
            known += [channel for channel in rule.channels if channel not in known]
    return tuple(Addressed(recipient, tuple(channels[recipient])) for recipient in RECIPIENTS if recipient in channels)


@dataclass(frozen=True)
class Reminder:
    before_hours: float
    to: tuple[Addressed, ...]


def reminders(rules: Iterable[NotificationRule]) -> tuple[Reminder, ...]:
    """The reminders to schedule before an appointment's start, earliest first."""
    reminder_rules = [rule for rule in rules if rule.change == "reminder"]
    hours = sorted({hour for rule in reminder_rules for hour in rule.before_hours}, reverse=True)
    return tuple(
        Reminder(hour, addressed([rule for rule in reminder_rules if hour in rule.before_hours], "reminder"))
        for hour in hours
    )


def _rule(change: str, recipients: str, channels: str, before_hours: tuple[float, ...] = ()) -> NotificationRule:
    return NotificationRule(change, tuple(recipients.split()), tuple(channels.split()), before_hours)


# What a domain that says nothing gets: the people concerned by e-mail and in the app, the patient's
# time-critical news (a decision, another time, a freed slot) also by push, reminders a day before.
DEFAULT_RULES: tuple[NotificationRule, ...] = (
    _rule("requested", "professional staff", "in_app email"),
    _rule("requested", "patient", "email"),
    _rule("approved", "patient", "email push in_app"),
    _rule("declined", "patient", "email push in_app"),
    _rule("cancelled", "patient professional staff", "email in_app"),
    _rule("proposed", "patient", "email push in_app"),
    _rule("proposal_accepted", "professional staff", "in_app email"),
    _rule("proposal_rejected", "professional staff", "in_app email"),
    _rule("rescheduled", "patient professional staff", "email in_app"),
    _rule("no_show", "patient", "email"),
    _rule("waitlist_offered", "patient", "email push sms"),
    _rule("reminder", "patient", "email push", (24.0,)),
)

# A medical practice: reminders by text message too, and the day's reminder two hours before.
MEDICAL_RULES: tuple[NotificationRule, ...] = (
    *DEFAULT_RULES[:-1],
    _rule("reminder", "patient", "email push", (24.0,)),
    _rule("reminder", "patient", "sms", (24.0, 2.0)),
)

# A law firm: no text messages or push; the client is reminded two days and one day before.
LEGAL_RULES: tuple[NotificationRule, ...] = (
    _rule("requested", "professional staff", "in_app email"),
    _rule("requested", "patient", "email"),
    _rule("approved", "patient", "email"),
    _rule("declined", "patient", "email"),
    _rule("cancelled", "patient professional staff", "email in_app"),
    _rule("proposed", "patient", "email"),
    _rule("proposal_accepted", "professional staff", "in_app"),
    _rule("proposal_rejected", "professional staff", "in_app email"),
    _rule("rescheduled", "patient professional staff", "email in_app"),
    _rule("waitlist_offered", "patient", "email"),
    _rule("reminder", "patient", "email", (48.0, 24.0)),
)
