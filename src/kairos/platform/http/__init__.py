"""HTTP conventions: problem details, request context, idempotency, pagination and the app factory."""
