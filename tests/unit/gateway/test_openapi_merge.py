"""Merging the services' OpenAPI documents: names kept apart, references followed, missing services said."""

from __future__ import annotations

from typing import Any

from kairos.gateway.domain.openapi import ServiceDocument, merge, unavailable


def document(service: str, *, problem_field: str) -> dict[str, Any]:
    prefix = f"/api/v1/{service}"
    return {
        "openapi": "3.1.0",
        "info": {"title": service.title(), "version": "1.2"},
        "security": [{"Bearer": []}],
        "tags": [{"name": "items", "description": f"{service} items"}],
        "paths": {
            f"{prefix}/items": {
                "get": {
                    "operationId": "list_items",
                    "tags": ["items"],
                    "responses": {"default": {"$ref": "#/components/responses/Failed"}},
                },
                "post": {
                    "operationId": "create_item",
                    "security": [{"OAuth": ["items:write"]}],
                    "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}},
                    "responses": {"201": {"description": "made"}},
                },
            },
            "/health/live": {"get": {"operationId": "live", "responses": {"200": {"description": "ok"}}}},
        },
        "components": {
            "schemas": {
                "Problem": {"type": "object", "properties": {problem_field: {"type": "string"}}},
                "Pet": {
                    "oneOf": [{"$ref": "#/components/schemas/Cat"}],
                    "discriminator": {"propertyName": "kind", "mapping": {"cat": "#/components/schemas/Cat"}},
                },
                "Cat": {"type": "object"},
            },
            "responses": {
                "Failed": {
                    "description": "failed",
                    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
                }
            },
            "securitySchemes": {"Bearer": {"type": "http", "scheme": "bearer"}, "OAuth": {"type": "oauth2"}},
        },
    }


def merged_pair() -> dict[str, Any]:
    return merge(
        [
            ServiceDocument("identity", "/api/v1/identity/", document("identity", problem_field="who")),
            ServiceDocument("chat", "/api/v1/chat/", document("chat", problem_field="conversation")),
        ],
        title="Kairos API",
        version="9",
    )


def test_two_services_with_the_same_component_name_keep_each_their_own() -> None:
    schemas = merged_pair()["components"]["schemas"]

    assert set(schemas["identity.Problem"]["properties"]) == {"who"}
    assert set(schemas["chat.Problem"]["properties"]) == {"conversation"}
    assert "Problem" not in schemas


def test_references_follow_the_renamed_components_discriminators_included() -> None:
    merged = merged_pair()
    chat_items = merged["paths"]["/api/v1/chat/items"]

    assert chat_items["get"]["responses"]["default"] == {"$ref": "#/components/responses/chat.Failed"}
    failed = merged["components"]["responses"]["chat.Failed"]
    assert failed["content"]["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/chat.Problem"}
    pet = merged["components"]["schemas"]["chat.Pet"]
    assert pet["oneOf"] == [{"$ref": "#/components/schemas/chat.Cat"}]
    assert pet["discriminator"]["mapping"] == {"cat": "#/components/schemas/chat.Cat"}


def test_operation_ids_tags_and_security_requirements_are_namespaced() -> None:
    items = merged_pair()["paths"]["/api/v1/identity/items"]

    assert items["get"]["operationId"] == "identity.list_items"
    assert items["get"]["tags"] == ["identity: items"]
    assert items["get"]["security"] == [{"identity.Bearer": []}], "the document-wide requirement, made explicit"
    assert items["post"]["security"] == [{"identity.OAuth": ["items:write"]}]
    assert items["post"]["tags"] == ["identity"]


def test_declared_tags_keep_their_description_under_the_new_name() -> None:
    tags = {tag["name"]: tag for tag in merged_pair()["tags"]}

    assert tags["chat: items"]["description"] == "chat items"
    assert "chat" in tags


def test_paths_outside_the_services_prefix_are_left_out() -> None:
    assert sorted(merged_pair()["paths"]) == ["/api/v1/chat/items", "/api/v1/identity/items"]


def test_a_service_without_a_document_is_listed_as_unavailable_with_why() -> None:
    merged = merge(
        [
            ServiceDocument("chat", "/api/v1/chat/", problem="answered 503"),
            ServiceDocument("identity", "/api/v1/identity/", document("identity", problem_field="who")),
        ],
        title="Kairos API",
        version="9",
    )

    assert merged["x-kairos-services"] == {
        "chat": {"available": False, "problem": "answered 503"},
        "identity": {"available": True, "title": "Identity", "version": "1.2"},
    }
    assert unavailable(merged) == ["chat"]
    assert all(path.startswith("/api/v1/identity/") for path in merged["paths"])


def test_merging_leaves_the_services_documents_untouched() -> None:
    original = document("chat", problem_field="conversation")
    before = repr(original)

    merge([ServiceDocument("chat", "/api/v1/chat/", original)], title="Kairos API", version="9")

    assert repr(original) == before
