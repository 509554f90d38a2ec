"""Signing in through an organisation's own identity provider (OpenID Connect; Microsoft Entra ID as a kind of it).

**Who the external person is.** An OpenID provider names a person by ``sub``, unique per issuer (OIDC Core §2).
Entra ID's ``sub`` is pairwise per application, and one multi-tenant application sees many issuers, so an Entra
person is named by tenant and object id (``tid``, ``oid``: Microsoft identity platform, "ID token claims"), the
pair Microsoft documents as the stable key. E-mail addresses are never the key: a tenant's administrator can put
any address on an account.

**Entra's issuers.** A single-tenant registration has one issuer, ``https://login.microsoftonline.com/{tenant}/v2.0``.
The discovery document of ``organizations`` or ``common`` gives the template ``…/{tenantid}/v2.0``: a token is
valid only when its ``iss`` is the template with the token's own ``tid`` put in, and that tenant is one the
organisation allows (any Entra tenant could otherwise sign in to a multi-tenant application).

**Linking.** An external identity not seen before whose e-mail address is that of a Kairos account is linked
only after the person proves the Kairos account (its password, or being signed in to it), never on the address
alone: whoever controls a tenant could otherwise take over any account by naming its address. The address is
trusted at all (to suggest a link, or to mark a new account's address as confirmed) only when it is in one of
the domains the organisation listed for this provider.

**Second factor.** A federated sign-in (RFC 8176 ``fed``) counts as two factors only when the provider says so
(``amr`` containing ``mfa``); otherwise the Kairos second factor still applies to the roles that require one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from kairos.identity.domain.roles import Role

ENTRA_AUTHORITY = "https://login.microsoftonline.com"
ENTRA_MULTI_TENANT = frozenset({"organizations", "common"})
TENANT_PLACEHOLDER = "{tenantid}"
# Accounts made on first sign-in get one of these; admin and operator are given by people, never by a provider.
JIT_ROLES = frozenset({Role.PATIENT, Role.PROFESSIONAL, Role.STAFF})
AMR_FEDERATED = "fed"  # RFC 8176 §2
AMR_MULTI_FACTOR = "mfa"  # RFC 8176 §2

_TENANT_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_DOMAIN = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


class ProviderKind(StrEnum):
    ENTRA = "entra"
    OIDC = "oidc"


class InvalidProvider(Exception):
    """The provider's registration is not valid."""


class TokenRefused(Exception):
    """The provider's ID token does not name a person we may accept (wrong tenant, issuer, missing claims)."""


@dataclass(frozen=True)
class ProviderConfiguration:
    """What an organisation registered about its identity provider (the client secret aside)."""

    kind: ProviderKind
    issuer: str  # OIDC: the issuer; Entra: derived from the authority and tenant
    tenant: str | None  # Entra: a tenant id, or organizations / common
    allowed_tenants: frozenset[str]  # Entra multi-tenant: the tenants whose people may sign in
    allowed_email_domains: frozenset[str]
    default_role: Role
    is_jit_allowed: bool

    @property
    def is_multi_tenant(self) -> bool:
        return self.kind is ProviderKind.ENTRA and self.tenant in ENTRA_MULTI_TENANT


def entra_issuer(authority: str, tenant: str) -> str:
    """The v2.0 endpoint's issuer (and discovery base) of a tenant at an authority (public or national cloud)."""
    return f"{authority.rstrip('/')}/{tenant}/v2.0"


def configure(
    *,
    kind: ProviderKind,
    issuer: str | None,
    tenant: str | None,
    authority: str,
    allowed_tenants: Iterable[str],
    allowed_email_domains: Iterable[str],
    default_role: Role,
    is_jit_allowed: bool,
) -> ProviderConfiguration:
    """A checked registration; ``InvalidProvider`` says what is wrong."""
    if default_role not in JIT_ROLES:
        raise InvalidProvider(f"accounts made at first sign-in may be {', '.join(sorted(JIT_ROLES))} only")
    domains = frozenset(domain.strip().lower() for domain in allowed_email_domains)
    if bad := sorted(domain for domain in domains if not _DOMAIN.fullmatch(domain)):
        raise InvalidProvider(f"not e-mail domains: {', '.join(bad)}")
    tenants = frozenset(tenant_id.strip().lower() for tenant_id in allowed_tenants)
    if kind is ProviderKind.OIDC:
        if not issuer or not _is_https_or_loopback(issuer):
            raise InvalidProvider("an OpenID provider needs its issuer, an https URL")
        if tenant or tenants:
            raise InvalidProvider("tenants are for Microsoft Entra ID only")
        return ProviderConfiguration(kind, issuer.rstrip("/"), None, frozenset(), domains, default_role, is_jit_allowed)
    if issuer:
        raise InvalidProvider("an Entra ID provider is given by its tenant, not its issuer")
    if not _is_https_or_loopback(authority):
        raise InvalidProvider("the authority must be an https URL")
    chosen = (tenant or "").strip().lower()
    if chosen in ENTRA_MULTI_TENANT:
        if not tenants:
            raise InvalidProvider("a multi-tenant Entra ID provider needs the tenants it allows")
    elif not _TENANT_ID.fullmatch(chosen):
        raise InvalidProvider("the tenant is a tenant id (a GUID), organizations or common")
    elif tenants - {chosen}:
        raise InvalidProvider("a single-tenant provider allows its own tenant only")
    if bad := sorted(tenant_id for tenant_id in tenants if not _TENANT_ID.fullmatch(tenant_id)):
        raise InvalidProvider(f"not tenant ids: {', '.join(bad)}")
    return ProviderConfiguration(
        kind, entra_issuer(authority, chosen), chosen, tenants, domains, default_role, is_jit_allowed
    )


def _is_https_or_loopback(url: str) -> bool:
    # Plain http only to this machine: a development or test issuer (OIDC Core §3.1.2.1 asks for TLS).
    return url.startswith("https://") or url.startswith(("http://127.0.0.1:", "http://localhost:"))


# --- ID tokens ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExternalPerson:
    """Who signed in at the provider: the key we know them by, and what may suggest a Kairos account."""

    subject: str  # "<tid>:<oid>" at Entra ID, "sub" elsewhere
    email: str | None  # lower-cased; None when the provider gave none that looks like an address
    is_email_trusted: bool  # in a domain the organisation vouches for at this provider
    display_name: str
    did_multi_factor: bool


def expected_issuer(configuration: ProviderConfiguration, discovered_issuer: str, claims: Mapping[str, object]) -> str:
    """The ``iss`` this token must carry: the discovered one, with the token's tenant put into Entra's template.

    Raises ``TokenRefused`` for an Entra token of a tenant the provider does not allow."""
    if configuration.kind is not ProviderKind.ENTRA:
        return discovered_issuer
    tenant = claims.get("tid")
    if not isinstance(tenant, str) or not _TENANT_ID.fullmatch(tenant):
        raise TokenRefused("the token names no tenant")
    if configuration.is_multi_tenant:
        if tenant not in configuration.allowed_tenants:
            raise TokenRefused("the token's tenant is not allowed")
    elif tenant != configuration.tenant:
        raise TokenRefused("the token is from another tenant")
    return discovered_issuer.replace(TENANT_PLACEHOLDER, tenant)


def external_person(configuration: ProviderConfiguration, claims: Mapping[str, object]) -> ExternalPerson:
    """The person a validated ID token names (signature, ``iss``, ``aud``, ``exp`` and ``nonce`` checked already)."""
    if configuration.kind is ProviderKind.ENTRA:
        tenant, object_id = claims.get("tid"), claims.get("oid")
        if not isinstance(object_id, str) or not object_id or not isinstance(tenant, str):
            raise TokenRefused("an Entra ID token names its person by tid and oid")
        subject = f"{tenant}:{object_id.lower()}"
    else:
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise TokenRefused("the token names no subject")
        subject = sub
    email = _address(claims.get("email")) or _address(claims.get("preferred_username"))
    trusted = email is not None and email.rpartition("@")[2] in configuration.allowed_email_domains
    if configuration.kind is ProviderKind.OIDC and claims.get("email_verified") is False:
        trusted = False  # the provider itself says it has not checked the address
    name = claims.get("name")
    display_name = name.strip()[:200] if isinstance(name, str) and name.strip() else (email or "").partition("@")[0]
    return ExternalPerson(subject, email, trusted, display_name or "Kairos user", did_multi_factor(claims.get("amr")))


def did_multi_factor(amr: object) -> bool:
    """Whether the provider's ``amr`` says the person used more than one factor there (RFC 8176 ``mfa``)."""
    return isinstance(amr, Sequence) and not isinstance(amr, str) and AMR_MULTI_FACTOR in amr


def _address(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    candidate = value.strip().lower()
    local, at, domain = candidate.rpartition("@")
    return candidate if at and local and _DOMAIN.fullmatch(domain) else None


def email_domain(email: str) -> str:
    return email.strip().lower().rpartition("@")[2]


# --- what a sign-in does -----------------------------------------------------------------------------------


class Outcome(StrEnum):
    SIGN_IN = "sign-in"  # a linked identity: sign in as its account
    LINK_SIGNED_IN = "link-signed-in"  # unknown identity, and the browser is signed in to the account to link
    PROVE_TO_LINK = "prove-to-link"  # unknown identity whose trusted address is an account's: password first
    CREATE = "create"  # unknown identity, nobody has its address, first-sign-in accounts are allowed
    REFUSE_NO_ACCOUNT = "no-account"  # unknown identity, and the provider may not create accounts
    REFUSE_ADDRESS_TAKEN = "address-taken"  # an account has the address, but the provider is not trusted for it
    REFUSE_DISABLED = "disabled"  # the linked account is disabled


def decide(
    *,
    person: ExternalPerson,
    is_jit_allowed: bool,
    linked_account_enabled: bool | None,
    signed_in_to_link: bool,
    address_holder_exists: bool,
) -> Outcome:
    """What to do with a validated external sign-in.

    ``linked_account_enabled``: None when the identity is linked to no account. ``signed_in_to_link``: the browser
    that started this sign-in is signed in to a Kairos account (which it thereby proves). ``address_holder_exists``:
    some account has the person's address."""
    if linked_account_enabled is not None:
        return Outcome.SIGN_IN if linked_account_enabled else Outcome.REFUSE_DISABLED
    if signed_in_to_link:
        return Outcome.LINK_SIGNED_IN
    if address_holder_exists:
        return Outcome.PROVE_TO_LINK if person.is_email_trusted else Outcome.REFUSE_ADDRESS_TAKEN
    if not is_jit_allowed or person.email is None:
        return Outcome.REFUSE_NO_ACCOUNT
    return Outcome.CREATE


def session_methods(person: ExternalPerson) -> tuple[str, ...]:
    """RFC 8176 methods a federated session records."""
    return (AMR_FEDERATED, AMR_MULTI_FACTOR) if person.did_multi_factor else (AMR_FEDERATED,)
