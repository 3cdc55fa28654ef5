"""The Twilio connector's requests, checked against Twilio's own OpenAPI description of its API.

The description is ``twilio_api_v2010.json``, shipped in the npm package ``@twilio/cli-core``
itself (``src/services/twilio-api/``); ``@stoplight/prism-cli`` serves it on the loopback with
``--errors``, so a request the description does not allow (a missing or malformed field, a SID
off its pattern, no basic auth) answers 4xx instead of an example. Both are pinned in
``tests/twilio_openapi/package.json``. The hand-written fake (``tests/fakes/twilio_api.py``)
still tests how the hub behaves; this test keeps the shape of what it sends honest.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import parse_qsl

import aiohttp
import pytest

from connectors.twilio.connector import TwilioConnector
from hub.domain.errors import HubError, PermanentSendError
from hub.domain.model import AttachmentRef, MessageKind, Outbound, SendReceipt
from hub.domain.records import Channel
from tests.fakes.memory import fake_send_context
from tests.fakes.twilio_api import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    CUSTOMER,
    SERVICE_SID,
    TWILIO_NUMBER,
    sid,
)

NPM_DIR = Path(__file__).resolve().parents[1] / "twilio_openapi"
NODE_MODULES = NPM_DIR / "node_modules"
SPEC = NODE_MODULES / "@twilio/cli-core/src/services/twilio-api/twilio_api_v2010.json"
PRISM = NODE_MODULES / ".bin/prism"
PUBLIC_URL = "https://kefu.example.com"
#: what Twilio's description allows for a Message SID (``^(SM|MM)[0-9a-fA-F]{32}$``)
MESSAGE_SID = re.compile(r"^(SM|MM)[0-9a-fA-F]{32}$")


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must provide them for this check")
    pytest.skip(f"!!! {reason}: the check against Twilio's OpenAPI description did NOT run !!!")


def _installed_as_pinned() -> bool:
    pins = json.loads((NPM_DIR / "package.json").read_text())["devDependencies"]
    for name, version in pins.items():
        manifest = NODE_MODULES / name / "package.json"
        if not manifest.exists() or json.loads(manifest.read_text())["version"] != version:
            return False
    return SPEC.exists() and PRISM.exists()


def _install() -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        _unavailable("node or npm is missing. Install them with `apt-get install -y nodejs npm`")
    if _installed_as_pinned():
        return
    # Neither package needs an install script to serve a description, so none runs.
    command = ["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"]
    try:
        done = subprocess.run(command, cwd=NPM_DIR, capture_output=True, text=True, timeout=180)
    except subprocess.TimeoutExpired:
        _unavailable(
            "`npm ci` in tests/twilio_openapi took over 180 s (is the registry reachable?)"
        )
    if done.returncode != 0 or not _installed_as_pinned():
        _unavailable(f"`npm ci` in tests/twilio_openapi failed:\n{done.stderr[-2000:]}")


def _form_arrays_explicit(spec: dict[str, Any]) -> dict[str, Any]:
    """The description with each form body's array fields given the encoding OpenAPI 3.0
    already defaults to (``style: form, explode: true``: ``MediaUrl=a&MediaUrl=b``).

    Prism reads repeated keys as an array only when the encoding is written out
    (stoplightio/prism#2473); without it Twilio's own SDKs' MMS requests get 422 "MediaUrl
    must be array". Even then it keeps only the last value of a repeated key, so the test
    checks on the wire that every file went out.
    """
    for item in spec["paths"].values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            content = operation.get("requestBody", {}).get("content", {})
            form = content.get("application/x-www-form-urlencoded")
            if form is None:
                continue
            encoding = form.setdefault("encoding", {})
            for name, schema in form["schema"].get("properties", {}).items():
                if schema.get("type") == "array":
                    encoding.setdefault(name, {"style": "form", "explode": True})
    return spec


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Prism:
    base: str
    log: Path

    def log_tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])


def _wait_answering(prism: Prism, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"prism exited early:\n{prism.log_tail()}")
        try:
            with urllib.request.urlopen(f"{prism.base}/", timeout=1):
                return
        except urllib.error.HTTPError:
            return  # a 404 for a path the description lacks: prism is serving
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    raise RuntimeError(f"prism did not answer within 30 s:\n{prism.log_tail()}")


@pytest.fixture(scope="module")
def prism(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prism]:
    """Prism serving Twilio's API v2010 description on a free loopback port."""
    _install()
    workdir = tmp_path_factory.mktemp("twilio_openapi")
    spec = workdir / SPEC.name
    spec.write_text(json.dumps(_form_arrays_explicit(json.loads(SPEC.read_text()))))
    port = _free_port()
    running = Prism(base=f"http://127.0.0.1:{port}", log=workdir / "prism.log")
    with running.log.open("wb") as out:
        proc = subprocess.Popen(
            [str(PRISM), "mock", str(spec), "--host", "127.0.0.1", "--port", str(port), "--errors"],
            cwd=NPM_DIR,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_answering(running, proc)
        yield running
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def twilio_channel(prism: Prism, **settings: Any) -> Channel:
    return Channel(
        id=7,
        kind="twilio",
        name="短信 SMS",
        public_key="pk_twilio_openapi",
        settings={
            "account_sid": ACCOUNT_SID,
            "auth_token": AUTH_TOKEN,
            "phone_number": TWILIO_NUMBER,
            "api_base_url": prism.base,
            **settings,
        },
        team_id=None,
        active=True,
        created_at=datetime.now(UTC),
    )


def reply(text: str, *attachments: AttachmentRef) -> Outbound:
    return Outbound(
        message_id=41,
        conversation_id=3,
        recipient_id=CUSTOMER,
        kind=MessageKind.IMAGE if attachments else MessageKind.TEXT,
        text=text,
        attachments=attachments,
    )


async def accepted(
    prism: Prism, connector: TwilioConnector, channel: Channel, out: Outbound
) -> SendReceipt:
    try:
        receipt = await connector.send(channel, out, fake_send_context())
    except HubError as exc:
        pytest.fail(
            f"the request broke Twilio's description ({exc}); prism said:\n{prism.log_tail()}"
        )
    assert receipt.provider_message_id, receipt
    assert MESSAGE_SID.match(receipt.provider_message_id), receipt
    return receipt


@pytest.mark.timeout(240)  # a first run installs the npm packages
async def test_the_connector_s_requests_match_twilio_s_openapi_description(
    prism: Prism,
) -> None:
    bodies: list[bytes] = []

    async def on_chunk(
        session: aiohttp.ClientSession, context: Any, params: aiohttp.TraceRequestChunkSentParams
    ) -> None:
        bodies.append(params.chunk)

    trace = aiohttp.TraceConfig()
    trace.on_request_chunk_sent.append(on_chunk)
    async with aiohttp.ClientSession(trace_configs=[trace]) as http:
        connector = TwilioConnector(http, PUBLIC_URL)
        from_number = twilio_channel(prism)
        from_service = twilio_channel(prism, phone_number="", messaging_service_sid=SERVICE_SID)

        await accepted(prism, connector, from_number, reply("您好，请问有什么可以帮您？ Hi!"))
        await accepted(prism, connector, from_service, reply("您的订单已发货。"))
        long_text = (
            "您好！您的订单（编号 20240611-8848）已于今日发货，预计三至五个工作日送达。" * 12
        )
        assert len(long_text) > 400
        await accepted(prism, connector, from_number, reply(long_text))

        files = tuple(
            AttachmentRef(
                kind=MessageKind.IMAGE,
                filename=name,
                content_type="image/jpeg",
                storage_key=f"blob-{n}",
                url=f"{PUBLIC_URL}/files/MQ.Zmk3xw.{n}b1Tq-8aZcQe_Xv/{name}",
            )
            for n, name in enumerate(("order-photo.jpg", "receipt.jpg"), start=1)
        )
        bodies.clear()
        await accepted(prism, connector, from_number, reply("订单照片 photos", *files))
        sent = parse_qsl(b"".join(bodies).decode())
        assert [value for name, value in sent if name == "MediaUrl"] == [f.url for f in files]

        # Twilio's MediaUrlN (no extension) answers the file itself by a redirect, and the
        # description lacks it: it has only the Media resource's JSON (``.../{Sid}.json``). So
        # this checks the download's path and credentials against that resource; the file and
        # the redirect stay with the fake.
        media = AttachmentRef(
            kind=MessageKind.IMAGE,
            content_type="image/jpeg",
            provider_ref=f"{prism.base}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/"
            f"{sid('MM')}/Media/{sid('ME')}.json",
        )
        try:
            fetched = await connector.fetch_media(from_number, media, fake_send_context())
        except HubError as exc:
            pytest.fail(
                f"the media request broke Twilio's description ({exc}); prism said:\n"
                + prism.log_tail()
            )
        assert fetched.content_type == "application/json"
        assert json.loads(fetched.data)["sid"].startswith("ME")

        # The mock does refuse what the description forbids, so the checks above can fail.
        url = f"{prism.base}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
        auth = {"Authorization": aiohttp.encode_basic_auth(ACCOUNT_SID, AUTH_TOKEN)}
        no_to = [("From", TWILIO_NUMBER), ("Body", "hi")]
        async with http.post(url, data=no_to, headers=auth) as response:
            assert response.status == 422, await response.text()
            problem = await response.json(content_type=None)
        assert any("'To'" in item["message"] for item in problem["validation"]), problem
        async with http.post(url, data=[("To", CUSTOMER), *no_to]) as response:
            assert response.status == 401, await response.text()
        short_sid = twilio_channel(prism, account_sid="AC123")
        with pytest.raises(PermanentSendError) as refused:
            await connector.send(short_sid, reply("hi"), fake_send_context())
        assert refused.value.code == "twilio.http_422"
