"""The identity service's own tables."""

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

organisations = Table(
    "organisations",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(50), nullable=False),  # practice, firm, …
    Column("domain", String(100), nullable=False),  # medical, legal, …
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# The address and the display name are encrypted (kairos.identity.repository), the address found by its keyed
# lookup hash; a row without one was written in clear before migration 0009 and is sealed at start-up.
users = Table(
    "users",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("email", Text, nullable=False),  # encrypted, lower-cased before
    Column("email_lookup", LargeBinary),  # HMAC-SHA256 of the lower-cased address (kairos.platform.crypto.lookup)
    Column("password_hash", Text),
    Column("display_name", Text, nullable=False),  # encrypted
    Column("locale", String(20), nullable=False, server_default="en"),
    Column("zone", String(64), nullable=False, server_default="UTC"),
    Column("global_roles", ARRAY(String(50)), nullable=False, server_default="{}"),
    Column("email_verified_at", DateTime(timezone=True)),
    Column("disabled_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # Set when a GDPR erasure wiped the account (kairos.identity.privacy): the row stays, personal fields gone.
    Column("erased_at", DateTime(timezone=True)),
    Index("users_email_lookup", "email_lookup", unique=True),
)

# A user's roles inside an organisation (professional, staff, domain admin).
memberships = Table(
    "memberships",
    metadata,
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("organisation_id", Uuid, ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False),
    Column("role", String(50), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("user_id", "organisation_id", "role"),
)

oauth_clients = Table(
    "oauth_clients",
    metadata,
    Column("client_id", String(100), primary_key=True),
    Column("secret_hash", Text),  # None: a public client (PKCE, no secret)
    Column("name", String(200), nullable=False),
    Column("grant_types", ARRAY(String(100)), nullable=False),
    Column("redirect_uris", ARRAY(Text), nullable=False, server_default="{}"),
    Column("post_logout_redirect_uris", ARRAY(Text), nullable=False, server_default="{}"),
    Column("scopes", ARRAY(String(200)), nullable=False),
    Column("first_party", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Codes are stored as SHA-256 digests: a database leak does not leak usable codes or tokens.
authorization_codes = Table(
    "authorization_codes",
    metadata,
    Column("code_hash", LargeBinary, primary_key=True),
    Column("client_id", String(100), nullable=False),
    Column("user_id", Uuid, nullable=False),
    Column("session_id", Uuid),
    Column("redirect_uri", Text, nullable=False),
    Column("scope", Text, nullable=False),
    Column("nonce", String(500)),
    Column("code_challenge", String(200), nullable=False),
    Column("code_challenge_method", String(10), nullable=False),
    Column("auth_time", DateTime(timezone=True), nullable=False),
    Column("amr", ARRAY(String(20)), nullable=False, server_default="{pwd}"),  # how the user authenticated
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
    Column("used_at", DateTime(timezone=True)),
    Column("organisation_id", Uuid),  # the organisation the grant acts for (its tokens' ``org``)
)

# Refresh tokens rotate on every use; all tokens descending from one grant share a family, and the
# reuse of a rotated token revokes the whole family (RFC 9700 §4.14.2).
refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("token_hash", LargeBinary, primary_key=True),
    Column("family_id", Uuid, nullable=False, index=True),
    Column("client_id", String(100), nullable=False),
    Column("user_id", Uuid, nullable=False),
    Column("session_id", Uuid, index=True),  # signing out revokes a session's tokens by it
    Column("scope", Text, nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
    Column("rotated_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    Column("organisation_id", Uuid),  # the organisation the grant acts for, from its authorization code
)

# Access tokens are JWTs; their ids are kept so that revocation and introspection can answer for them.
access_tokens = Table(
    "access_tokens",
    metadata,
    Column("jti", String(64), primary_key=True),
    Column("client_id", String(100), nullable=False),
    Column("user_id", Uuid),
    Column("family_id", Uuid, index=True),
    Column("scope", Text, nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
    Column("revoked_at", DateTime(timezone=True)),
)

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("algorithm", String(20), nullable=False),
    Column("public_jwk", Text, nullable=False),
    Column("private_key", LargeBinary, nullable=False),  # PEM, encrypted at rest
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("retired_at", DateTime(timezone=True)),  # no longer signs; published until its tokens expire
)

browser_sessions = Table(
    "browser_sessions",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("secret_hash", LargeBinary, nullable=False),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
    Column("revoked_at", DateTime(timezone=True)),
    Column("user_agent", Text),  # encrypted (repository.sealed_user_agent)
    # Authentication methods done (RFC 8176 values: pwd, otp), and the step still owed before the session
    # may be used (kairos.identity.domain.mfa.SignInStep); None once the sign-in is complete.
    Column("methods", ARRAY(String(20)), nullable=False, server_default="{pwd}"),
    Column("pending_step", String(20)),
)

# --- sign-in hardening: throttling (kairos.identity.domain.throttling) and second factors ----------------

# Consecutive failures per subject: "password:<account key>" (a digest of the e-mail address, so identifiers
# naming no account are counted alike) and "code:<user id>" for second-factor codes.
failure_streaks = Table(
    "failure_streaks",
    metadata,
    Column("subject", String(100), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_failed_at", DateTime(timezone=True), nullable=False),
)

# The leaky bucket of failed sign-ins per network (an IPv4 address or an IPv6 /64).
address_budgets = Table(
    "address_budgets",
    metadata,
    Column("network", String(64), primary_key=True),
    Column("drained_at", DateTime(timezone=True), nullable=False),
)

# Password attempts let through whose outcome is not recorded yet (kairos.identity.throttle): each counts as a
# failure when the next attempt on the same account or network is judged. Rows live for one argon2id check.
sign_in_attempts = Table(
    "sign_in_attempts",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("subject", String(100), nullable=False, index=True),
    Column("network", String(64), nullable=False, index=True),
    Column("device_id", Uuid),  # a known device's attempt does not draw on the network's budget
    Column("started_at", DateTime(timezone=True), nullable=False),
)

# Browsers that have signed in to an account (a cookie holds "<id>.<secret>"; only a digest is kept), with
# their own failure streak: the owner is not made to wait for what an attacker did elsewhere.
known_devices = Table(
    "known_devices",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("secret_hash", LargeBinary, nullable=False),
    Column("failures", Integer, nullable=False, server_default=text("0")),
    Column("last_failed_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_signed_in_at", DateTime(timezone=True), nullable=False),
)

# One TOTP authenticator per user; the secret encrypted at rest with the service's data cipher. Unconfirmed
# (confirmed_at is None) until the user has typed a first code from it.
totp_authenticators = Table(
    "totp_authenticators",
    metadata,
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("secret", LargeBinary, nullable=False),
    Column("last_used_step", BigInteger),  # the latest RFC 6238 time step accepted: no code is accepted twice
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("confirmed_at", DateTime(timezone=True)),
)

# Single-use recovery codes, as SHA-256 digests (120-bit codes: see kairos.identity.domain.mfa).
recovery_codes = Table(
    "recovery_codes",
    metadata,
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("code_hash", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    PrimaryKeyConstraint("user_id", "code_hash"),
)


# --- profiles, professional verification and consents (issue 4 §9, §10) -----------------------------------------
# Columns marked "encrypted" hold the platform cipher's text tokens (kairos.platform.crypto), with the context
# "identity.<table>.<column>:<user id>" (see kairos.identity.repository): a value copied to another row or column
# does not decrypt. The display name (encrypted too), locale and zone stay on ``users``: they are what others are
# shown.

profiles = Table(
    "profiles",
    metadata,
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("given_name", Text),  # encrypted
    Column("family_name", Text),  # encrypted
    Column("phone", Text),  # encrypted
    # {kind: [channel, …]} (kairos.identity.domain.profiles.NotificationPreferences)
    Column("notification_preferences", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# A professional's credentials in one organisation and their verification
# (kairos.identity.domain.verification.ProfessionalProfile).
professional_profiles = Table(
    "professional_profiles",
    metadata,
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("organisation_id", Uuid, ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False),
    Column("specialty", String(200), nullable=False, server_default=""),
    Column("licence_number", Text),  # encrypted
    Column("issuing_authority", String(200), nullable=False, server_default=""),
    Column("languages", ARRAY(String(35)), nullable=False, server_default="{}"),  # BCP 47 tags
    Column("location", String(200)),
    Column("document_ids", ARRAY(Uuid), nullable=False, server_default="{}"),  # held by the documents service
    Column("status", String(20), nullable=False),
    Column("submitted_at", DateTime(timezone=True)),
    Column("decided_at", DateTime(timezone=True)),
    Column("decided_by", String(100)),
    Column("rejection_reason", Text),  # encrypted
    Column("verified_at", DateTime(timezone=True)),
    Column("expires_at", DateTime(timezone=True)),  # of the verification valid now; None when not listed
    Column("reminded_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("user_id", "organisation_id"),
    # The periodic check looks for listed professionals by expiry.
    Index("professional_profiles_expiry", "expires_at", postgresql_where=text("expires_at IS NOT NULL")),
)

# Consent records (kairos.identity.domain.consents): closed, never deleted or rewritten otherwise.
consents = Table(
    "consents",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("purpose", String(100), nullable=False),
    Column("version", String(50), nullable=False),
    Column("granted_at", DateTime(timezone=True), nullable=False),
    Column("closed_at", DateTime(timezone=True)),
    Column("closed_by", String(20)),  # withdrawn, superseded
    Index("consents_history", "user_id", "granted_at", "id"),
    # At most one current record per person and purpose, whatever races between two grants.
    Index("consents_current", "user_id", "purpose", unique=True, postgresql_where=text("closed_at IS NULL")),
)

# --- account lifecycle: registration, e-mail verification, password reset, outgoing mail ---------------------

# Tokens sent in links (kairos.identity.domain.account_tokens), as SHA-256 digests; single use, expiring.
account_tokens = Table(
    "account_tokens",
    metadata,
    Column("token_hash", LargeBinary, primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("purpose", String(30), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
    Column("used_at", DateTime(timezone=True)),
    Column("next_url", Text),  # the authorization request to continue once the link has been followed
)

# Budgets of mail requests per typed address ("address:<hex of its keyed lookup hash>", kairos.identity.repository)
# and per network ("network:<address key>").
request_budgets = Table(
    "request_budgets",
    metadata,
    Column("subject", String(100), primary_key=True),
    Column("drained_at", DateTime(timezone=True), nullable=False),
)

# Mails waiting to be sent (kairos.identity.mail): the whole RFC 5322 message encrypted with the data cipher,
# erased once sent or given up.
outgoing_mails = Table(
    "outgoing_mails",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("message", LargeBinary),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("sent_at", DateTime(timezone=True)),
    Column("abandoned_at", DateTime(timezone=True)),
    Column("last_error", String(500)),
    Index(
        "outgoing_mails_due",
        "next_attempt_at",
        postgresql_where=text("sent_at IS NULL AND abandoned_at IS NULL"),
    ),
)


# --- data-subject requests: GDPR export and erasure sagas (kairos.identity.privacy, migration 0006) -----------------

# One request and where its saga stands (kairos.identity.domain.privacy.DataSubjectRequest). Kept after an erasure as
# its receipt: the subject's id stays, but nothing any longer links that id to a person.
data_subject_requests = Table(
    "data_subject_requests",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("subject_id", Uuid, nullable=False),
    Column("kind", String(20), nullable=False),  # export, erasure
    Column("status", String(20), nullable=False),  # requested, collecting, complete, failed
    Column("requested_by", String(100), nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("deadline", DateTime(timezone=True), nullable=False),
    Column("expected_services", ARRAY(String(50)), nullable=False),
    Column("completed_at", DateTime(timezone=True)),
    Column("failed_at", DateTime(timezone=True)),
    Column("failure_reason", String(500)),
    Column("identity_statement", JSONB),  # an erasure's statement of identity's own part, once done
    Index("data_subject_requests_subject", "subject_id", "requested_at"),
    # The periodic check looks for open requests past their deadline.
    Index(
        "data_subject_requests_open",
        "deadline",
        postgresql_where=text("status IN ('requested', 'collecting')"),
    ),
)

# Each participating service's answer: an export part (encrypted, deleted after the export's retention) or an
# erasure statement (kinds and counts, no personal data: it is the receipt).
data_request_answers = Table(
    "data_request_answers",
    metadata,
    Column("request_id", Uuid, ForeignKey("data_subject_requests.id", ondelete="CASCADE"), nullable=False),
    Column("service", String(50), nullable=False),
    Column("answered_at", DateTime(timezone=True), nullable=False),
    Column(
        "export_part", Text
    ),  # encrypted JSON, context identity.data_request_answers.export_part:<request>:<service>
    Column("statement", JSONB),
    PrimaryKeyConstraint("request_id", "service"),
)

# --- federation: organisations' own identity providers (kairos.identity.domain.federation) ---------------------

identity_providers = Table(
    "identity_providers",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("organisation_id", Uuid, ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("display_name", String(100), nullable=False),
    Column("kind", String(20), nullable=False),  # entra, oidc
    Column("issuer", Text, nullable=False),  # discovery at <issuer>/.well-known/openid-configuration
    Column("tenant", String(64)),  # Entra: a tenant id, organizations or common
    Column("allowed_tenants", ARRAY(String(64)), nullable=False, server_default="{}"),
    Column("client_id", String(200), nullable=False),
    Column("client_secret", LargeBinary, nullable=False),  # encrypted with the data cipher
    Column("allowed_email_domains", ARRAY(String(253)), nullable=False, server_default="{}"),
    Column("default_role", String(50), nullable=False),
    Column("is_jit_allowed", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("disabled_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True)),
)

# A person at a provider ("<tid>:<oid>" at Entra ID, "sub" elsewhere) and the Kairos account it signs in as.
external_identities = Table(
    "external_identities",
    metadata,
    Column("provider_id", Uuid, ForeignKey("identity_providers.id", ondelete="CASCADE"), nullable=False),
    Column("subject", String(300), nullable=False),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("linked_at", DateTime(timezone=True), nullable=False),
    Column("last_signed_in_at", DateTime(timezone=True)),
    PrimaryKeyConstraint("provider_id", "subject"),
)

# An authorization request sent to a provider, keyed by a digest of its ``state`` (also in a cookie of the browser
# that started it). Once the provider answered for a person who must prove a Kairos account first, it waits for
# that proof (``link_*``); single use either way.
federation_attempts = Table(
    "federation_attempts",
    metadata,
    Column("state_hash", LargeBinary, primary_key=True),
    Column("provider_id", Uuid, ForeignKey("identity_providers.id", ondelete="CASCADE"), nullable=False),
    Column("nonce", String(100), nullable=False),
    Column("code_verifier", LargeBinary, nullable=False),  # encrypted with the data cipher
    Column("next_url", Text),
    Column("session_id", Uuid),  # the browser session that started it, when one was signed in
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    Column("link_user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE")),
    Column("link_subject", String(300)),
    Column("link_methods", ARRAY(String(20))),
)

# --- passkeys (WebAuthn Level 3) ------------------------------------------------------------------------------

passkeys = Table(
    "passkeys",
    metadata,
    Column("credential_id", LargeBinary, primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("id", Uuid, nullable=False, unique=True),  # what the account API names it by
    Column("name", String(100), nullable=False),
    Column("public_key", LargeBinary, nullable=False),  # COSE_Key
    Column("sign_count", BigInteger, nullable=False),
    Column("transports", ARRAY(String(20)), nullable=False, server_default="{}"),
    Column("is_discoverable", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_used_at", DateTime(timezone=True)),
)

# Challenges of ceremonies in progress (WebAuthn §13.4.3: random, single use, checked by the server).
passkey_challenges = Table(
    "passkey_challenges",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE")),  # None: a passwordless sign-in
    Column("purpose", String(20), nullable=False),  # register, authenticate
    Column("challenge", LargeBinary, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
    Column("used_at", DateTime(timezone=True)),
)

# --- consent for third-party applications (kairos.identity.grants, migration 0008) -------------------------------

# What a person allowed an application to do (kairos.identity.domain.client_grants). Revoked, never deleted; at most
# one current grant per person and application, whatever races between two consent pages.
client_grants = Table(
    "client_grants",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("client_id", String(100), ForeignKey("oauth_clients.client_id", ondelete="CASCADE"), nullable=False),
    Column("scopes", ARRAY(String(200)), nullable=False),
    Column("granted_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Index("client_grants_history", "user_id", "granted_at", "id"),
    Index("client_grants_current", "user_id", "client_id", unique=True, postgresql_where=text("revoked_at IS NULL")),
)

# A consent page shown: the authorization request it answers, bound to the browser session it was shown in and
# used once. The form carries the ticket, only its SHA-256 digest is kept.
pending_consents = Table(
    "pending_consents",
    metadata,
    Column("ticket_hash", LargeBinary, primary_key=True),
    Column("session_id", Uuid, ForeignKey("browser_sessions.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("client_id", String(100), nullable=False),
    Column("scopes", ARRAY(String(200)), nullable=False),
    Column("authorization_query", Text, nullable=False),  # the query string of the request to /authorize
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
    Column("used_at", DateTime(timezone=True)),
)
