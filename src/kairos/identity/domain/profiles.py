"""A person's profile: how they are named and reached, and which notifications reach them by which channel.

The notifications service keeps its own copy of the preferences (from ``identity.profile.updated``'s
successor events, later); identity is where the person sets them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    PUSH = "push"
    IN_APP = "in_app"


CHANNEL_NAMES = frozenset(channel.value for channel in Channel)


class NotificationKind(StrEnum):
    APPOINTMENT_UPDATES = "appointment_updates"  # requested, approved, declined, rescheduled, cancelled
    REMINDERS = "reminders"
    MESSAGES = "messages"
    DOCUMENTS = "documents"
    ACCOUNT_SECURITY = "account_security"  # new sign-ins, password and second-factor changes


# Security notices cannot be turned off by e-mail: they are how a person learns someone else got in.
MANDATORY_CHANNELS: dict[NotificationKind, frozenset[Channel]] = {
    NotificationKind.ACCOUNT_SECURITY: frozenset({Channel.EMAIL}),
}

DEFAULT_CHANNELS: dict[NotificationKind, frozenset[Channel]] = {
    NotificationKind.APPOINTMENT_UPDATES: frozenset({Channel.EMAIL, Channel.IN_APP}),
    NotificationKind.REMINDERS: frozenset({Channel.EMAIL}),
    NotificationKind.MESSAGES: frozenset({Channel.IN_APP}),
    NotificationKind.DOCUMENTS: frozenset({Channel.IN_APP}),
    NotificationKind.ACCOUNT_SECURITY: frozenset({Channel.EMAIL}),
}


class MandatoryChannel(Exception):
    """A channel that cannot be turned off for this kind of notification was left out."""


@dataclass(frozen=True)
class NotificationPreferences:
    """For every kind of notification, the channels it is sent by (an empty set: not sent)."""

    channels: Mapping[NotificationKind, frozenset[Channel]] = field(
        default_factory=lambda: MappingProxyType(dict(DEFAULT_CHANNELS))
    )

    def __post_init__(self) -> None:
        for kind, required in MANDATORY_CHANNELS.items():
            missing = required - self.channels.get(kind, frozenset())
            if missing:
                raise MandatoryChannel(
                    f"{kind.value} notifications always go by {', '.join(sorted(channel.value for channel in missing))}"
                )

    def changed(self, changes: Mapping[NotificationKind, frozenset[Channel]]) -> NotificationPreferences:
        """These preferences with the kinds named in ``changes`` replaced; the others kept."""
        return NotificationPreferences(MappingProxyType({**self.channels, **changes}))

    def to_plain(self) -> dict[str, list[str]]:
        """For storage: kinds to sorted channel names, every kind present."""
        return {
            kind.value: sorted(channel.value for channel in self.channels.get(kind, ())) for kind in NotificationKind
        }

    @classmethod
    def from_plain(cls, stored: Mapping[str, list[str]] | None) -> NotificationPreferences:
        """From storage; kinds added since the preferences were stored get their defaults, unknown ones are dropped."""
        known = {kind.value for kind in NotificationKind}
        channels = dict(DEFAULT_CHANNELS)
        for kind, names in (stored or {}).items():
            if kind in known:
                channels[NotificationKind(kind)] = frozenset(Channel(name) for name in names if name in CHANNEL_NAMES)
        return cls(MappingProxyType(channels))
