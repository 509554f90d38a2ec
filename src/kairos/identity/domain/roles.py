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
            "professionals:submit",
        }
    ),
    Role.STAFF: frozenset(
        {
            "appointments:read",
            "appointments:decide",
            "appointments:book_for",
            "chat:participate",
            "professionals:verify",
        }
    ),
    Role.DOMAIN_ADMIN: frozenset(
        {
            "domains:manage",
            "appointment_types:manage",
            "templates:manage",
            "members:read",
            "roles:manage",
            "professionals:verify",
        }
    ),
    Role.OPERATOR: frozenset(
        {
            "users:manage",
            "clients:manage",
            "audit:read",
            "gdpr:manage",
            "monitoring:read",
            "members:read",
            "roles:manage",
            "professionals:verify",
        }
    ),
}

# What it takes to give or take a role (no privilege escalation): the roles held inside an organisation
# need ``roles:manage`` there; the roles held globally (patient, operator) reach beyond any organisation,
# so only those who manage every account (operators, ``users:manage``) give them.
GRANTING_PERMISSION: dict[Role, str] = {
    Role.PROFESSIONAL: "roles:manage",
    Role.STAFF: "roles:manage",
    Role.DOMAIN_ADMIN: "roles:manage",
    Role.PATIENT: "users:manage",
    Role.OPERATOR: "users:manage",
}


class RoleChangeForbidden(Exception):
    """The actor may not give or take this role here."""


def effective_permissions(roles: frozenset[Role]) -> frozenset[str]:
    """Every permission the roles give together."""
    granted: set[str] = set()
    for role in roles:
        granted |= DEFAULT_PERMISSIONS[role]
    return frozenset(granted)


def requires_mfa(roles: frozenset[Role]) -> bool:
    """Whether a user holding ``roles`` (in any organisation) must sign in with a second factor."""
    return not roles.isdisjoint(MFA_REQUIRED_ROLES)


def authorise_role_change(*, actor_roles: frozenset[Role], role: Role) -> None:
    """Raise ``RoleChangeForbidden`` unless roles ``actor_roles`` (those the actor holds globally and inside the
    organisation concerned) may give or take ``role`` there."""
    needed = GRANTING_PERMISSION[role]
    if needed not in effective_permissions(actor_roles):
        raise RoleChangeForbidden(f"giving or taking the role {role.value} needs {needed}")


def may(actor_roles: frozenset[Role], permission: str) -> bool:
    """Whether roles ``actor_roles`` carry ``permission`` (the one mapping tokens carry too)."""
    return permission in effective_permissions(actor_roles)
