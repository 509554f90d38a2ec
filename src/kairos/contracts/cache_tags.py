"""What a service's cacheable answers are about, named in their ``Cache-Tag`` header, so that the gateway drops
them when the service's events say the thing changed. Besides these names, every id in an answer's path and
every id a service lists in ``Cache-Tag`` is a tag of its own (``kairos.gateway.domain.caching.tags_of``)."""

from __future__ import annotations

APPOINTMENT_DOMAINS = "appointments.domains"  # every domain's configuration: appointment.domain_changed
APPOINTMENT_RESOURCES = "appointments.resources"  # lists of resources: appointment.resource_changed
APPOINTMENT_DIRECTORY = "appointments.directory"  # directory searches: appointment.directory_changed, …
