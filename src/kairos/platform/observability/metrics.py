"""Prometheus metrics shared by every service; each carries a ``service`` label, so the all-in-one shape
exposes all services from one registry without clashes."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUEST_DURATION = Histogram(
    "kairos_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template.",
    ["service", "method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
OUTBOX_BACKLOG = Gauge("kairos_outbox_backlog", "Events written but not yet published.", ["service"])
OUTBOX_OLDEST_AGE = Gauge(
    "kairos_outbox_oldest_age_seconds", "Age of the oldest unpublished event (0 when none).", ["service"]
)
EVENTS_PUBLISHED = Counter("kairos_events_published_total", "Events relayed to the transport.", ["service", "type"])
EVENTS_HANDLED = Counter(
    "kairos_events_handled_total",
    "Inbound events by outcome: handled, duplicate, ignored, retried, parked.",
    ["service", "type", "outcome"],
)
EVENT_HANDLER_FAILURES = Counter(
    "kairos_event_handler_failures_total", "Event handler calls that raised.", ["service", "type"]
)
EVENT_DELIVERY_DELAY = Histogram(
    "kairos_event_delivery_delay_seconds",
    "From an event's occurrence to its handling by a consumer (consumer lag).",
    ["service", "type"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
)
CONSUMER_QUEUE_DEPTH = Gauge(
    "kairos_consumer_queue_depth", "Events waiting for this service's consumer (retries included).", ["service"]
)
