"""The REST API under a property-based fuzzer: every operation of the OpenAPI document, as an
admin and as an agent, on a real hub on SQLite and on PostgreSQL; no answer may be a 5xx or
differ from the document.

The fuzzer (schemathesis) draws requests from the document the hub serves, valid ones and
invalid ones, derandomized and with a fixed seed, and a bounded number of examples per
operation (about two minutes in all on two cores). Three checks judge each answer:
``not_a_server_error``, ``response_schema_conformance`` and ``status_code_conformance``; the
hub also checks every answer it gave against the document when it stops.

Two operations would lock the fuzzer out of the hub, so they are pinned rather than skipped:

- ``POST /auth/logout`` revokes the token it is sent with: each example is sent with a fresh
  throwaway token of the same agent, never the token the other operations use.
- ``PATCH /agents/{id}`` could deactivate, demote or reset the password of (and so sign out)
  the fuzzer's own admin or agent: an example naming either of them is sent to a throwaway
  agent instead, with the body the fuzzer drew. Every other example goes as drawn.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import settings
from schemathesis import checks

from hub.domain.model import Role
from hub.web.api import api
from tests.fuzz.conftest import Member, ThreadedHub
from tests.integration.conftest import make_settings
from tests.services import create_pg_database, drop_pg_database

#: examples per operation, role and database in the fuzzing phase (the other phases add a few
#: each); KEFU_FUZZ_EXAMPLES=1000 digs deeper, outside the suite's time budget
EXAMPLES = int(os.environ.get("KEFU_FUZZ_EXAMPLES", "50"))
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20260611,
        "generation": {"max-examples": EXAMPLES, "deterministic": True, "database": "none"},
        # How fast examples are drawn depends on the machine, not on the hub: no failure.
        "suppress-health-check": ["too_slow"],
    }
)
schema = schemathesis.openapi.from_dict(api.document("http://hub.test"), config=CONFIG)
CHECKS = [
    checks.not_a_server_error,
    checks.response_schema_conformance,
    checks.status_code_conformance,
]
#: one request may take this long; far more than any takes, it only bounds a hung run
DEADLINE = timedelta(seconds=5)

LOGOUT = ("POST", "/api/v1/auth/logout")
PATCH_AGENT = ("PATCH", "/api/v1/agents/{id}")


@dataclass(frozen=True)
class FuzzHub:
    threaded: ThreadedHub
    admin: Member
    agent: Member
    #: the agent that examples naming the fuzzer's own agents are sent to instead
    stand_in: Member
    http: requests.Session

    @property
    def own_ids(self) -> set[int]:
        return {self.admin.id, self.agent.id}


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    if request.param == "sqlite":
        yield None
        return
    url = asyncio.run(create_pg_database())
    yield url
    asyncio.run(drop_pg_database(url))


@pytest.fixture(scope="module")
def fuzz_hub(
    tmp_path_factory: pytest.TempPathFactory, database_url: str | None
) -> Iterator[FuzzHub]:
    settings_ = make_settings(
        tmp_path_factory.mktemp("fuzz"),
        database_url,
        # Every login the fuzzer tries reaches the handler: no throttling, no slowdown.
        login_failures_per_account_address=1_000_000,
        login_failures_per_address=1_000_000,
        login_failures_per_account=1_000_000,
        login_slowdown_s=0,
    )
    threaded = ThreadedHub(settings_)
    threaded.start()
    try:
        running = threaded.running
        assert running is not None
        [admin] = threaded.call(threaded.hub.directory.list_agents())
        admin_member = Member(admin.id, admin.email, running.token)
        agent = threaded.member("agent@shop.test", Role.AGENT)
        stand_in = threaded.member("stand-in@shop.test", Role.AGENT)
        # Something for the ids to find: a contact, a conversation, a message, a team.
        threaded.conversation("在吗")
        threaded.call(threaded.hub.directory.create_team("Support", [agent.id]))
        with requests.Session() as http:
            yield FuzzHub(threaded, admin_member, agent, stand_in, http)
    finally:
        threaded.stop()


def bearer(token: str) -> dict[str, Any]:
    return {"Authorization": f"Bearer {token}"}


def names_one_of(case: schemathesis.Case, ids: set[int]) -> bool:
    raw = str((case.path_parameters or {}).get("id", ""))
    return raw.isascii() and raw.isdigit() and len(raw) < 20 and int(raw) in ids


def send(case: schemathesis.Case, fuzz: FuzzHub, member: Member) -> None:
    headers = bearer(member.token)
    operation = (case.method.upper(), case.path)
    if operation == LOGOUT:
        headers = bearer(fuzz.threaded.token(member.id))
    elif operation == PATCH_AGENT and names_one_of(case, fuzz.own_ids):
        assert case.path_parameters is not None
        case.path_parameters["id"] = fuzz.stand_in.id
    response = case.call_and_validate(
        base_url=fuzz.threaded.base,
        session=fuzz.http,
        headers=headers,
        checks=CHECKS,
        timeout=DEADLINE.total_seconds() * 2,
    )
    if operation == LOGOUT and response.status_code == 204:
        me = fuzz.http.get(fuzz.threaded.base + "/api/v1/me", headers=headers, timeout=10)
        assert me.status_code == 401, "a logout left its token working"


@schema.parametrize()
@settings(deadline=DEADLINE)
def test_as_an_admin(case: schemathesis.Case, fuzz_hub: FuzzHub) -> None:
    send(case, fuzz_hub, fuzz_hub.admin)


@schema.parametrize()
@settings(deadline=DEADLINE)
def test_as_an_agent(case: schemathesis.Case, fuzz_hub: FuzzHub) -> None:
    send(case, fuzz_hub, fuzz_hub.agent)


def test_the_fuzzed_document_is_the_one_the_hub_serves(fuzz_hub: FuzzHub) -> None:
    response = fuzz_hub.http.get(fuzz_hub.threaded.base + "/api/v1/openapi.json", timeout=10)
    assert response.status_code == 200
    served = response.json()
    assert served["paths"] == schema.raw_schema["paths"]
    assert served["components"] == schema.raw_schema["components"]


def test_the_fuzz_identities_still_work(fuzz_hub: FuzzHub) -> None:
    """Nothing the fuzzer sent locked it out: both of its agents are active with their roles."""
    for member, role in ((fuzz_hub.admin, "admin"), (fuzz_hub.agent, "agent")):
        response = fuzz_hub.http.get(
            fuzz_hub.threaded.base + "/api/v1/me", headers=bearer(member.token), timeout=10
        )
        assert response.status_code == 200, response.text
        assert response.json()["role"] == role
        assert response.json()["active"] is True
