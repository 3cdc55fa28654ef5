"""The OpenAPI document the hub serves is valid, addresses the API once, and resolves."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from tests.integration.conftest import RunningHub, inprocess_hub, make_settings


@pytest.fixture
async def document(tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    async with inprocess_hub(make_settings(tmp_path)) as hub:
        yield await _fetch(hub)


async def _fetch(hub: RunningHub) -> dict[str, Any]:
    async with hub.http.get(hub.base + "/api/v1/openapi.json") as response:
        assert response.status == 200
        assert response.content_type == "application/json"
        doc: dict[str, Any] = await response.json()
        return doc


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"{ref} points outside the document"
    node: Any = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict), f"{ref}: {part!r} is under no object"
        assert part in node, f"{ref} does not resolve: no {part!r}"
        node = node[part]
    return node


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validate(document)
    assert document["openapi"] == "3.1.0"


def test_the_server_and_the_paths_name_the_prefix_once(document: dict[str, Any]) -> None:
    [server] = document["servers"]
    assert server["url"] == "http://127.0.0.1:8080"  # the public URL, without the prefix
    assert document["paths"]
    for path in document["paths"]:
        assert path.startswith("/api/v1/"), path
        assert "/api/v1/api/v1" not in server["url"].rstrip("/") + path


def test_every_ref_resolves(document: dict[str, Any]) -> None:
    refs = set(_refs(document))
    assert "#/components/schemas/ConversationStatus" in refs  # a query's enum, hoisted
    for ref in refs:
        _resolve(document, ref)
    assert "$defs" not in str(document)


def test_every_operation_declares_its_success_and_its_refusals(document: dict[str, Any]) -> None:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            success = [status for status in responses if status[0] == "2"]
            assert len(success) == 1, (method, path, responses)
            assert {"4XX", "5XX"} <= set(responses), (method, path)
            if success != ["204"]:
                assert "content" in responses[success[0]], (method, path)


def test_lists_and_new_fields_are_documented(document: dict[str, Any]) -> None:
    paths, schemas = document["paths"], document["components"]["schemas"]
    for path, model in [
        ("/api/v1/agents", "AgentList"),
        ("/api/v1/teams", "TeamList"),
        ("/api/v1/channels", "ChannelList"),
        ("/api/v1/channel-kinds", "ChannelKindList"),
    ]:
        schema = paths[path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": f"#/components/schemas/{model}"}
        assert {"items", "next"} <= set(schemas[model]["properties"])
    assert "failure" in schemas["MessageOut"]["properties"]
    assert set(schemas["FailureOut"]["required"]) == {"code", "text"}
    assert "rule" in schemas["ReplyWindowOut"]["properties"]
    assert "ConversationQuery" not in schemas  # it became the parameters
