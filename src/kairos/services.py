"""The roll of Kairos services, for the composition roots (all-in-one, CLI); services never import it."""

from __future__ import annotations

from importlib import import_module

from kairos.platform.config import SERVICES
from kairos.platform.runtime import ServiceDefinition


def definition(name: str) -> ServiceDefinition:
    if name not in SERVICES:
        raise KeyError(f"no service named {name!r}; the services are {', '.join(SERVICES)}")
    found: ServiceDefinition = import_module(f"kairos.{name}.app").definition
    return found


def all_definitions() -> list[ServiceDefinition]:
    return [definition(name) for name in SERVICES]
