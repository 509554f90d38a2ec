"""The gateway: one entry point for clients, routing ``/api/v1/<service>/…`` to the service that owns it."""
