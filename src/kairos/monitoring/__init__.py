"""The monitoring service: health of all services, logs, the audit trail, alerts and analytics."""
