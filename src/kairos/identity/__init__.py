"""The identity service: users, credentials, MFA, OIDC provider, roles, profiles, consents, GDPR."""
