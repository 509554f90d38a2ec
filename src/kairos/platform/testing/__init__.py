"""Helpers for the test suites: a token issuer with a real JWKS endpoint, throw-away databases and vhosts."""
