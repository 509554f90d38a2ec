"""Plain-Python domain model of the monitoring service: no I/O, no framework."""
