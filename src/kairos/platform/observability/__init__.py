"""Logs, metrics, health and traces, the same in every service."""
