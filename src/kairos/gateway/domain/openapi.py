"""One OpenAPI document for the whole API, merged from each service's own.

Each service's paths are kept only under the prefix the gateway routes to it (``/api/v1/<service>/``): its
``/health/…`` are not reachable through the gateway. Its components are renamed ``<service>.<Name>`` (and
every ``$ref`` and security requirement with them), its operation ids ``<service>.<id>``, and its tags
``<service>: <tag>``, so two services may both have a ``Problem`` or a ``list_items`` without one hiding the
other. A service that could not be asked is listed under ``x-kairos-services`` with why, not left out quietly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

OPENAPI_VERSION = "3.1.0"
REF_PREFIX = "#/components/"
COMPONENT_KINDS = (
    "schemas",
    "responses",
    "parameters",
    "examples",
    "requestBodies",
    "headers",
    "securitySchemes",
    "links",
    "callbacks",
    "pathItems",
)
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


@dataclass(frozen=True)
class ServiceDocument:
    """What asking one service for its document gave: the document, or why there is none."""

    service: str
    prefix: str  # the gateway's path prefix of this service, "/api/v1/<service>/"
    document: Mapping[str, Any] | None = None
    problem: str | None = None


def merge(documents: list[ServiceDocument], *, title: str, version: str, description: str = "") -> dict[str, Any]:
    paths: dict[str, Any] = {}
    components: dict[str, dict[str, Any]] = {}
    tags: list[dict[str, Any]] = []
    services: dict[str, dict[str, Any]] = {}
    for entry in sorted(documents, key=lambda item: item.service):
        if entry.document is None:
            services[entry.service] = {"available": False, "problem": entry.problem or "no document"}
            continue
        namespaced = _namespaced(entry.service, entry.document)
        for path, item in namespaced.get("paths", {}).items():
            if path.startswith(entry.prefix):
                paths[path] = item
        for kind, members in namespaced.get("components", {}).items():
            components.setdefault(kind, {}).update(members)
        tags += namespaced.get("tags", [])
        info = entry.document.get("info", {})
        services[entry.service] = {"available": True, "title": info.get("title"), "version": info.get("version")}
    merged: dict[str, Any] = {
        "openapi": OPENAPI_VERSION,
        "info": {"title": title, "version": version, "description": description},
        "paths": dict(sorted(paths.items())),
        "x-kairos-services": services,
    }
    if components:
        merged["components"] = {kind: dict(sorted(members.items())) for kind, members in sorted(components.items())}
    if tags:
        merged["tags"] = tags
    return merged


def unavailable(document: Mapping[str, Any]) -> list[str]:
    """The services a merged document is missing."""
    services: Mapping[str, Mapping[str, Any]] = document.get("x-kairos-services", {})
    return sorted(name for name, state in services.items() if not state.get("available"))


def _namespaced(service: str, document: Mapping[str, Any]) -> dict[str, Any]:
    renamed: dict[str, Any] = _rewrite_refs(service, document)
    components = renamed.get("components", {})
    renamed["components"] = {
        kind: {f"{service}.{name}": value for name, value in members.items()}
        for kind, members in components.items()
        if kind in COMPONENT_KINDS and isinstance(members, dict)
    }
    declared_tags = {tag.get("name"): tag for tag in renamed.get("tags", []) if isinstance(tag, dict)}
    used_tags: dict[str, dict[str, Any]] = {}
    for item in renamed.get("paths", {}).values():
        for method, operation in item.items():
            if method not in HTTP_METHODS or not isinstance(operation, dict):
                continue
            if "operationId" in operation:
                operation["operationId"] = f"{service}.{operation['operationId']}"
            own_tags = operation.get("tags") or [None]
            operation["tags"] = [_tag(service, tag) for tag in own_tags]
            for tag in own_tags:
                declared = declared_tags.get(tag, {})
                used_tags[_tag(service, tag)] = {**declared, "name": _tag(service, tag)}
            if "security" in operation:
                operation["security"] = _requirements(service, operation["security"])
            else:
                # The service's document-wide requirement, made explicit: there is no longer one document.
                operation["security"] = _requirements(service, renamed.get("security", []))
                if not operation["security"]:
                    del operation["security"]
    renamed["tags"] = list(used_tags.values())
    return renamed


def _tag(service: str, tag: str | None) -> str:
    return service if tag is None else f"{service}: {tag}"


def _requirements(service: str, requirements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{f"{service}.{name}": scopes for name, scopes in requirement.items()} for requirement in requirements]


def _rewrite_refs(service: str, node: Any) -> Any:
    """A deep copy of ``node`` with every local component reference pointing at the renamed component."""
    if isinstance(node, dict):
        copied: dict[str, Any] = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                copied[key] = _renamed_ref(service, value)
            elif key == "mapping" and isinstance(value, dict):  # a discriminator's values are references too
                copied[key] = {name: _renamed_ref(service, ref) for name, ref in value.items()}
            else:
                copied[key] = _rewrite_refs(service, value)
        return copied
    if isinstance(node, list):
        return [_rewrite_refs(service, item) for item in node]
    return node


def _renamed_ref(service: str, ref: Any) -> Any:
    if not isinstance(ref, str) or not ref.startswith(REF_PREFIX):
        return ref  # a reference to another document is left as it is
    kind, _, name = ref[len(REF_PREFIX) :].partition("/")
    return f"{REF_PREFIX}{kind}/{service}.{name}"
