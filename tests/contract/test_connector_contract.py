"""What every registered connector does, checked through a real in-process hub.

Each test runs once per kind the hub registers (``conftest.pytest_generate_tests``), playing
the provider with the kind's kit (``kits.py``). Where a kind lacks a capability (web chat has no
webhooks, no refusals, no provider media) the test checks that fact instead of skipping.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any, TypeVar

import pytest
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import best_match
from sqlalchemy import select

from adapters.db.tables import inbound_events
from hub.domain.channels import Connector
from hub.domain.errors import HubError, TransientSendError
from hub.domain.model import AttachmentRef, MessageKind
from hub.domain.ports import Retrying
from hub.services.jobs import JOBS
from tests.contract.conftest import hub_of, registry
from tests.contract.kits import KITS, ContractKit, Target
from tests.integration.conftest import RunningHub

MASK = "********"
LANGUAGES = ("en", "zh-CN")
SENDER = "contract-customer-1"

T = TypeVar("T")


# -- helpers --------------------------------------------------------------------------------


async def eventually(
    check: Callable[[], Awaitable[T | None]], what: str, within_s: float = 10
) -> T:
    """Poll ``check`` until it gives something truthy; fail naming ``what`` at the deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while True:
        found = await check()
        if found:
            return found
        if loop.time() > deadline:
            raise AssertionError(f"not within {within_s:g} s: {what}")
        await asyncio.sleep(0.02)


def connector_of(hub: RunningHub, kind: str) -> Connector:
    return hub_of(hub).deps.connectors[kind]


async def stored_events(hub: RunningHub, channel_id: int) -> list[str]:
    """The provider event ids of every inbound event the hub stored for the channel."""
    query = select(inbound_events.c.provider_event_id).where(
        inbound_events.c.channel_id == channel_id
    )
    async with hub_of(hub).engines.read.connect() as conn:
        return [str(row[0]) for row in await conn.execute(query)]


async def stored_once(hub: RunningHub, channel_id: int) -> None:
    """The delivered item is stored, and once. A webhook stores it before its answer; a kind
    whose callbacks only announce news (``WebhookResult.wake``) stores it when its poller has
    pulled, so this waits for it, then for the hub to settle, before counting."""
    await eventually(lambda: stored_events(hub, channel_id), "the delivery is stored")
    await settled(hub)
    assert len(await stored_events(hub, channel_id)) == 1


async def conversations(hub: RunningHub, channel_id: int) -> list[dict[str, Any]]:
    status, page = await hub.api("GET", f"/conversations?channel_id={channel_id}&limit=100")
    assert status == 200, page
    items: list[dict[str, Any]] = page["items"]
    return items


async def messages(hub: RunningHub, conversation_id: int) -> list[dict[str, Any]]:
    status, page = await hub.api("GET", f"/conversations/{conversation_id}/messages?limit=200")
    assert status == 200, page
    items: list[dict[str, Any]] = page["items"]
    return items


async def conversation_with(hub: RunningHub, channel_id: int, text: str) -> dict[str, Any]:
    """The channel's conversation once the customer's ``text`` shows in it."""

    async def found() -> dict[str, Any] | None:
        for conversation in await conversations(hub, channel_id):
            if any(m["text"] == text for m in await messages(hub, conversation["id"])):
                return conversation
        return None

    return await eventually(found, f"a conversation with the message {text!r}")


async def settled(hub: RunningHub) -> None:
    """Every job the hub queued so far has run (the embedded mode's in-process queue)."""
    queue = hub_of(hub).inprocess_queue
    assert queue is not None, "the contract hub runs in embedded mode"
    await queue.idle()


def texts_complete(value: object, what: str) -> None:
    assert isinstance(value, Mapping), f"{what} is no text by language: {value!r}"
    missing = [lang for lang in LANGUAGES if not str(value.get(lang) or "").strip()]
    assert not missing, f"{what} has no text in {', '.join(missing)}: {value!r}"


def _type_or_nullable(
    validator: Any, types: Any, instance: Any, schema: Mapping[str, Any]
) -> Iterator[Any]:
    # The form schema marks an optional field with "x-nullable" instead of a union with null.
    if instance is None and schema.get("x-nullable") is True:
        return
    yield from Draft202012Validator.VALIDATORS["type"](validator, types, instance, schema)


#: Draft 2020-12 reading the documented ``x-nullable`` of ``/channel-kinds`` schemas
FormSchemaValidator = validators.extend(Draft202012Validator, {"type": _type_or_nullable})


async def kind_entry(hub: RunningHub, kind: str) -> dict[str, Any]:
    status, body = await hub.api("GET", "/channel-kinds")
    assert status == 200, body
    assert body["problems"] == [], body["problems"]
    entries = {item["kind"]: item for item in body["items"]}
    assert kind in entries, f"/channel-kinds does not list {kind}: {sorted(entries)}"
    entry: dict[str, Any] = entries[kind]
    return entry


# -- the suite knows every kind -------------------------------------------------------------


def test_every_registered_kind_loads_and_has_a_kit() -> None:
    loaded = registry()
    assert loaded.problems == (), [f"{p.source}: {p.reason}" for p in loaded.problems]
    assert {"webchat", "wechat", "wecom_kf", "sample_chat"} <= set(loaded.connectors)
    missing = sorted(set(loaded.connectors) - set(KITS))
    assert not missing, "".join(
        f"no contract kit for kind {kind}: add one in tests/contract/kits.py\n" for kind in missing
    )


# -- 1. settings round-trip, secrets masked -------------------------------------------------


async def test_settings_round_trip_with_secrets_masked(
    hub: RunningHub,
    kind: str,
    kit: ContractKit,
    provider: str,
    channel: dict[str, Any],
    target: Target,
) -> None:
    info = connector_of(hub, kind).info
    secrets = info.secret_settings
    expected = info.settings.model_validate(kit.settings(provider)).model_dump(mode="json")
    stored = (await hub_of(hub).directory.get_channel(target.channel_id)).settings
    assert stored == expected
    for name, value in kit.normalised(provider).items():
        assert stored[name] == value, f"settings.{name} is stored as {stored[name]!r}"

    status, shown = await hub.api("GET", f"/channels/{target.channel_id}")
    assert status == 200, shown
    assert channel["settings"] == shown["settings"], "creating answered other settings"
    assert set(shown["settings"]) == set(expected)
    for name, value in expected.items():
        if name in secrets and value:
            assert shown["settings"][name] == MASK, f"the secret {name} is shown"
        else:
            assert shown["settings"][name] == value, f"settings.{name} is shown differently"
    assert sorted(shown["webhook_urls"]) == sorted(info.webhook_names)

    # An admin saves the form as it was shown: the masks come back and change nothing.
    status, patched = await hub.api(
        "PATCH",
        f"/channels/{target.channel_id}",
        json={"name": f"Renamed {kind} 改名", "settings": shown["settings"]},
    )
    assert status == 200, patched
    assert patched["settings"] == shown["settings"]
    assert patched["name"] == f"Renamed {kind} 改名"
    after = (await hub_of(hub).directory.get_channel(target.channel_id)).settings
    assert after == expected, "saving the masked form changed the stored settings"
    if kit.webhook is not None:
        # The provider still signs with the original secrets, and is still heard.
        await kit.deliver(target, "7000000001", SENDER, "still signed with the first secret")
        await stored_once(hub, target.channel_id)

    entry = await kind_entry(hub, kind)
    schema = entry["settings_schema"]
    Draft202012Validator.check_schema(schema)
    assert set(schema["properties"]) == set(info.settings.model_fields)
    for name, prop in schema["properties"].items():
        texts_complete(prop.get("x-label"), f"the label of settings.{name}")
        if "x-help" in prop:
            texts_complete(prop["x-help"], f"the help of settings.{name}")
    assert sorted(entry["secret_settings"]) == sorted(secrets)
    assert {n for n, p in schema["properties"].items() if p.get("x-secret")} == set(secrets)
    error = best_match(FormSchemaValidator(schema).iter_errors(after))
    assert error is None, (
        f"stored settings break the served schema: {error.message} at {error.json_path}"
    )


# -- 2. bad signature → 403, malformed → 4xx, nothing stored --------------------------------


async def test_bad_signatures_and_malformed_bodies_store_nothing(
    hub: RunningHub, kind: str, kit: ContractKit, channel: dict[str, Any], target: Target
) -> None:
    info = connector_of(hub, kind).info
    if kit.webhook is None:
        # Not applicable: the kind has no webhooks, so no hook URL reaches it.
        assert info.webhook_names == ()
        assert channel["webhook_urls"] == {}
        for name in ("anything", "callback", "messages"):
            async with hub.http.post(hub.base + target.hook(name), data=b"{}") as response:
                assert response.status == 404, f"POST {target.hook(name)}"
    else:
        assert kit.webhook in info.webhook_names
        for call in kit.forged(target, "7000000002", SENDER, "forged"):
            status, body = await target.send(call)
            assert status == 403, f"a forged {call.method} answered {status}: {body[:300]!r}"

    answers = [(call, *await target.send(call)) for call in await kit.malformed(target)]
    wrong = [
        f"{call.body[:60]!r} answered {status}: {body[:200]!r}"
        for call, status, body in answers
        if not 400 <= status < 500
    ]
    assert not wrong, "malformed bodies must answer 4xx:\n" + "\n".join(wrong)

    await settled(hub)
    assert await stored_events(hub, target.channel_id) == []
    assert await conversations(hub, target.channel_id) == []


# -- 3. a provider's retries make one message -----------------------------------------------


async def test_retried_deliveries_make_one_message(
    hub: RunningHub, kit: ContractKit, target: Target
) -> None:
    text = "我的快递到哪了？ where is my parcel"
    await kit.deliver(target, "7000000003", SENDER, text, times=3)
    await stored_once(hub, target.channel_id)
    conversation = await conversation_with(hub, target.channel_id, text)
    await settled(hub)
    assert [c["id"] for c in await conversations(hub, target.channel_id)] == [conversation["id"]]
    assert [m["text"] for m in await messages(hub, conversation["id"])] == [text]


# -- 4. a refused send fails with a namespaced reason ---------------------------------------


async def test_a_refused_send_fails_with_a_namespaced_reason(
    hub: RunningHub, kind: str, kit: ContractKit, target: Target
) -> None:
    await kit.deliver(target, "7000000004", SENDER, "hello 你好")
    conversation = await conversation_with(hub, target.channel_id, "hello 你好")
    if kit.refusable:
        kit.refuse_next_send()
    status, reply = await hub.api(
        "POST", f"/conversations/{conversation['id']}/messages", json={"text": "稍等 one moment"}
    )
    assert status == 201, reply

    async def delivered() -> dict[str, Any] | None:
        for item in await messages(hub, conversation["id"]):
            if item["id"] == reply["id"] and item["status"] != "queued":
                return item
        return None

    outcome = await eventually(delivered, f"the reply {reply['id']} leaves the queue")
    if not kit.refusable:
        # Not applicable: nobody can refuse the reply, so it is sent.
        assert outcome["status"] == "sent", outcome
        assert outcome["failure"] is None
        return
    assert outcome["status"] == "failed", outcome
    failure = outcome["failure"]
    assert failure is not None, outcome
    assert failure["code"].startswith(f"{kind}."), failure
    assert failure["code"] != f"{kind}.", failure
    texts_complete(failure["text"], f"the failure text of {failure['code']}")
    assert outcome["error"], outcome


# -- 5. fetch_media errors are retried, not lost --------------------------------------------


async def test_a_media_download_that_fails_for_a_while_is_retried_not_lost(
    hub: RunningHub,
    kind: str,
    kit: ContractKit,
    target: Target,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    deps = hub_of(hub).deps
    if kit.media is None:
        # Not applicable: nothing is kept at a provider, so there is nothing to retry.
        stored = await hub_of(hub).directory.get_channel(target.channel_id)
        ref = AttachmentRef(kind=MessageKind.FILE, provider_ref="contract-ref")
        with pytest.raises(HubError) as refused:
            await connector_of(hub, kind).fetch_media(
                stored, ref, deps.send_context(target.channel_id)
            )
        assert not isinstance(refused.value, TransientSendError)
        return

    # The queue's fetch_media jobs are held, so the test runs each attempt itself and sees
    # what the job tells the queue, without waiting out the queue's retry delays.
    fetch = JOBS["fetch_media"]
    held: list[int] = []

    async def hold(_deps: Any, attachment_id: int) -> None:
        held.append(attachment_id)

    monkeypatch.setitem(JOBS, "fetch_media", hold)
    kit.fail_media(2)
    status, body = await target.send(kit.with_media(target, "7000000005", SENDER))
    assert 200 <= status < 300, body
    await eventually(lambda: _some(held), "the hub queues the download of the attachment")
    [attachment_id] = held

    outcomes: list[str] = []
    for attempt in range(1, 6):
        try:
            await fetch(deps, attachment_id)
        except Retrying:
            outcomes.append("retry")
            continue
        except Exception as exc:
            pytest.fail(
                f"attempt {attempt} of the fetch_media job raised {type(exc).__name__}: {exc}. "
                "The queues run a job again only when it raises Retrying (the embedded queue "
                "re-enqueues it, the arq worker raises Retry); anything else is logged as a "
                "failed job and the download is dropped until a sweep finds it."
            )
        outcomes.append("stored")
        break
    assert outcomes == ["retry", "retry", "stored"]

    [conversation] = await conversations(hub, target.channel_id)
    [item] = [m for m in await messages(hub, conversation["id"]) if m["attachments"]]
    [attachment] = item["attachments"]
    assert attachment["id"] == attachment_id
    assert attachment["ready"] is True, attachment
    assert attachment["url"], attachment
    async with hub.http.get(hub.base + attachment["url"]) as response:
        assert response.status == 200
        assert await response.read() == kit.media.data
        assert response.content_type == kit.media.content_type


async def _some(items: list[T]) -> list[T] | None:
    return items or None


# -- 6. every declared text is in every language --------------------------------------------


async def test_declared_texts_are_complete(hub: RunningHub, kind: str) -> None:
    info = connector_of(hub, kind).info
    entry = await kind_entry(hub, kind)
    texts_complete(entry["title"], "the title")
    texts_complete(entry["contact_label"], "the contact label")
    assert entry["title"] == dict(info.title)
    assert entry["contact_label"] == dict(info.contact_label)
    assert entry["webhook_names"] == list(info.webhook_names)
    guide = entry["guide"]
    assert (guide is None) == (info.guide is None)
    if guide is not None:
        texts_complete(guide["title"], "the guide's title")
        assert guide["steps"], "a guide needs steps"
        for number, step in enumerate(guide["steps"], 1):
            texts_complete(step, f"guide step {number}")
        assert guide["console_url"], "a guide links the provider's console"
        assert guide["webhook"] is None or guide["webhook"] in entry["webhook_names"]
    assert set(entry["events"]) == set(info.events)
    for name, label in entry["events"].items():
        texts_complete(label, f"the label of event {name!r}")
