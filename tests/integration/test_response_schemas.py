"""The check that every REST answer of the integration suite matches the OpenAPI document."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from pydantic import BaseModel

from hub.web import openapi
from tests.integration.conftest import Answer, api_contract, inprocess_hub, make_settings


def _answer(path: str, status: int, body: Any = None, method: str = "GET") -> Answer:
    raw = b"" if body is None else json.dumps(body).encode()
    return Answer(method, path, status, "application/json", raw)


AGENT = {
    "id": 1,
    "email": "admin@shop.test",
    "name": "Admin",
    "role": "admin",
    "active": True,
    "locale": "",
    "online": False,
    "phone": None,
    "capacity": None,
    "presence": "offline",
    "chosen_presence": "online",
    "load": None,
}


def test_a_documented_answer_passes() -> None:
    contract = api_contract()
    assert contract.problem(_answer("/api/v1/me", 200, AGENT)) is None
    error = {"error": {"status": 404, "reason": "no id 'x'"}}
    assert contract.problem(_answer("/api/v1/conversations/{id}", 404, error)) is None
    logout = Answer("POST", "/api/v1/auth/logout", 204, "application/octet-stream", b"")
    assert contract.problem(logout) is None


def test_a_wrong_body_is_caught() -> None:
    problem = api_contract().problem(_answer("/api/v1/me", 200, {**AGENT, "id": "one"}))
    assert problem is not None
    assert problem.startswith("GET /api/v1/me answered 200 with a body that is no AgentOut")
    assert "'one' is not of type 'integer'" in problem
    assert "$.id" in problem
    missing = api_contract().problem(_answer("/api/v1/me", 200, {"id": 1}))
    assert missing is not None
    assert "is a required property" in missing


def test_an_undocumented_status_or_operation_is_caught() -> None:
    contract = api_contract()
    problem = contract.problem(_answer("/api/v1/me", 302, AGENT))
    assert problem is not None
    assert "a status the document does not declare" in problem
    problem = contract.problem(_answer("/api/v1/me", 200, AGENT, method="DELETE"))
    assert problem is not None
    assert "no such operation" in problem
    with_body = Answer("POST", "/api/v1/auth/logout", 204, "application/json", b"{}")
    assert "declares none" in (contract.problem(with_body) or "")
    text = Answer("GET", "/api/v1/me", 500, "text/plain", b"500 Internal Server Error")
    assert "declares JSON" in (contract.problem(text) or "")


def test_a_file_answer_is_checked_by_its_declared_type() -> None:
    contract = api_contract()
    path = "/api/v1/canned-replies/export"
    csv = Answer("GET", path, 200, "text/csv", b"\xef\xbb\xbfshort_code,title,text\r\n")
    assert contract.problem(csv) is None
    page = Answer("GET", path, 200, "text/html", b"<p>")
    assert "declares text/csv" in (contract.problem(page) or "")
    json_body = Answer("GET", path, 200, "application/json", b"{}")
    assert "declares text/csv" in (contract.problem(json_body) or "")


async def test_the_answers_of_a_live_hub_are_recorded_by_template(tmp_path: Path) -> None:
    async with inprocess_hub(make_settings(tmp_path)) as hub:
        await hub.api("GET", "/conversations/12345")
        await hub.api("GET", "/no-such-route")
        recorded = [(a.method, a.path, a.status) for a in hub.answers.answers]
    assert ("POST", "/api/v1/channels", 201) in recorded
    assert ("GET", "/api/v1/conversations/{id}", 404) in recorded
    assert not any("no-such-route" in path for _, path, _ in recorded)


async def test_a_wrong_body_from_a_live_hub_fails_the_test(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(AssertionError, match=r"GET /api/v1/me answered 200 .* no AgentOut"):
        await _ask_a_hub_that_answers_wrongly(tmp_path, monkeypatch)


async def _ask_a_hub_that_answers_wrongly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def wrong(model: BaseModel, status: int = 200) -> web.Response:
        return web.json_response({"surprise": True}, status=status)

    async with inprocess_hub(make_settings(tmp_path)) as hub:
        monkeypatch.setattr(openapi, "model_response", wrong)
        status, _ = await hub.api("GET", "/me")
        assert status == 200
