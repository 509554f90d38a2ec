"""Roles and the permissions each role carries by default (ARCHITECTURE "Who uses it").

A role is held either globally (patient, operator) or within one organisation (professional, staff,
domain admin). Permissions are strings ``<area>:<action>``; the owning service enforces them through
``kairos.platform.auth.require``.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    PATIENT = "patient"
    PROFESSIONAL = "professional"
    STAFF = "staff"
    DOMAIN_ADMIN = "domain_admin"
    OPERATOR = "operator"

    @property
    def is_organisational(self) -> bool:
        return self in ORGANISATIONAL_ROLES


ORGANISATIONAL_ROLES = frozenset({Role.PROFESSIONAL, Role.STAFF, Role.DOMAIN_ADMIN})

# Roles that reach other people's records or the platform itself sign in with a second factor (issue 4 §4;
# NIST SP 800-63B-4 AAL2, which ASVS 5.0 level 2 asks of applications holding health data).
MFA_REQUIRED_ROLES = frozenset({Role.PROFESSIONAL, Role.STAFF, Role.DOMAIN_ADMIN, Role.OPERATOR})

DEFAULT_PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.PATIENT: frozenset(
        {"appointments:request", "appointments:read_own", "chat:participate", "documents:read_own"}
    ),
    Role.PROFESSIONAL: frozenset(
        {
            "availability:manage",
            "appointments:read",
            "appointments:decide",
            "chat:participate",
            "documents:write",
            "documents:sign",
        }
    ),
    Role.STAFF: frozenset({"appointments:read", "appointments:decide", "appointments:book_for", "chat:participate"}),
    Role.DOMAIN_ADMIN: frozenset({"domains:manage", "appointment_types:manage", "templates:manage"}),
    Role.OPERATOR: frozenset({"users:manage", "clients:manage", "audit:read", "gdpr:manage", "monitoring:read"}),
}


def effective_permissions(roles: frozenset[Role]) -> frozenset[str]:
    """Every permission the roles give together."""
    granted: set[str] = set()
    for role in roles:
        granted |= DEFAULT_PERMISSIONS[role]
    return frozenset(granted)


def requires_mfa(roles: frozenset[Role]) -> bool:
    """Whether a user holding ``roles`` (in any organisation) must sign in with a second factor."""
    return not roles.isdisjoint(MFA_REQUIRED_ROLES)
