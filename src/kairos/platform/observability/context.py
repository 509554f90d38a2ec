"""Request-scoped values that logs, events and outgoing calls carry along."""

from __future__ import annotations

from contextvars import ContextVar

from opentelemetry import propagate

correlation_id_var: ContextVar[str | None] = ContextVar("kairos_correlation_id", default=None)


def current_correlation_id() -> str | None:
    return correlation_id_var.get()


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the active span, to carry across a broker hop."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")
