"""Canned replies (常用语): list and search, create, change, delete, fill in for a conversation,
and import and export as CSV."""

from __future__ import annotations

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from itsdangerous import URLSafeTimedSerializer

from adapters.db.queries import decode_cursor, encode_cursor
from hub.domain.canned import CannedContent, CannedReply
from hub.domain.errors import InvalidInput, MalformedPayload, PayloadTooLarge
from hub.domain.model import AttachmentRef
from hub.services import canned
from hub.web import canned_schemas as S
from hub.web.api.common import api, path_id, read_body, read_query
from hub.web.api.conversations import upload_tokens
from hub.web.keys import agent_of, hub_of
from hub.web.uploads import signed_attachments

TAG = "canned replies"
#: a CSV file to import is at most this big (5,000 rows of a few hundred characters)
MAX_CSV_BYTES = 4 * 1024 * 1024


def file_out(signer: URLSafeTimedSerializer, item: AttachmentRef) -> S.CannedFileOut:
    meta = {"f": item.filename, "t": item.content_type, "s": item.size}
    return S.CannedFileOut(
        token=signer.dumps({"k": item.storage_key, "m": meta}),
        filename=item.filename,
        content_type=item.content_type,
        size=item.size,
        kind=item.kind,
    )


def reply_out(signer: URLSafeTimedSerializer, reply: CannedReply) -> S.CannedReplyOut:
    return S.CannedReplyOut(
        id=reply.id,
        short_code=reply.short_code,
        title=reply.title,
        text=reply.text,
        scope=reply.shelf.scope,
        team_id=reply.shelf.team_id,
        owner_id=reply.shelf.owner_id,
        attachments=[file_out(signer, f) for f in reply.content.files],
        uses=reply.uses,
        last_used_at=reply.last_used_at.isoformat() if reply.last_used_at else None,
        created_at=reply.created_at.isoformat(),
        updated_at=reply.updated_at.isoformat(),
    )


def _files(request: web.Request, tokens: list[str]) -> tuple[AttachmentRef, ...]:
    return tuple(signed_attachments(upload_tokens(request), tokens))


@api.route(
    "GET",
    "/canned-replies",
    summary="Canned replies I may use: my personal ones, my teams' and the global ones; "
    "`q` searches them",
    tag=TAG,
    query=S.CannedReplyQuery,
    response=S.CannedReplyList,
)
async def list_canned_replies(request: web.Request) -> S.CannedReplyList:
    query = read_query(request, S.CannedReplyQuery)
    offset = decode_cursor(query.cursor, int)[0] if query.cursor else 0
    found = await canned.search(
        hub_of(request).canned_replies, agent_of(request), query.q, query.scope
    )
    page = found[offset : offset + query.limit]
    more = offset + query.limit < len(found)
    signer = upload_tokens(request)
    return S.CannedReplyList(
        items=[reply_out(signer, r) for r in page],
        next=encode_cursor(offset + query.limit) if more else None,
    )


# Before /canned-replies/{id}: "export" is no id.
@api.file_route(
    "GET",
    "/canned-replies/export",
    summary="Every canned reply I may use as CSV (UTF-8 with a BOM, for Excel): short_code, "
    "title, text, scope, team; cells a spreadsheet would run as formulas start with '",
    tag=TAG,
    media_type="text/csv",
)
async def export_canned_replies(request: web.Request) -> web.Response:
    data = await canned.export_csv(hub_of(request).canned_replies, agent_of(request))
    return web.Response(
        body=data,
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": 'attachment; filename="canned-replies.csv"'},
    )


@api.route(
    "POST",
    "/canned-replies/import",
    summary="Import canned replies from CSV (multipart field 'file', UTF-8) with the columns "
    "of the export; answers what was created, changed and refused, row by row",
    tag=TAG,
    upload="file",
    response=S.ImportReport,
)
async def import_canned_replies(request: web.Request) -> S.ImportReport:
    data = await _csv_file(request)
    report = await canned.import_csv(hub_of(request).canned_replies, agent_of(request), data)
    return S.ImportReport(
        created=report.created,
        updated=report.updated,
        refused=[S.RefusedRow(row=r.row, reason=r.reason) for r in report.refused],
    )


async def _csv_file(request: web.Request) -> bytes:
    """The bytes of the multipart ``file`` field, whatever type the browser gave it (Windows
    calls a .csv application/vnd.ms-excel): the import reads it as CSV or says why not."""
    if not request.content_type.startswith("multipart/"):
        raise MalformedPayload("send the CSV file as multipart/form-data in a field named 'file'")
    try:
        reader = await request.multipart()
        part = await reader.next()
        while part is not None and (not isinstance(part, BodyPartReader) or part.name != "file"):
            part = await reader.next()
        if part is None or not isinstance(part, BodyPartReader):
            raise MalformedPayload("no field named 'file' in the upload")
        data = bytearray()
        while chunk := await part.read_chunk(64 * 1024):
            data.extend(chunk)
            if len(data) > MAX_CSV_BYTES:
                raise PayloadTooLarge(f"a CSV file is at most {MAX_CSV_BYTES // 1024 // 1024} MB")
    # aiohttp's multipart reader says what is wrong with a body in these (see hub.web.uploads)
    except (ValueError, RuntimeError, HttpProcessingError) as exc:
        reason = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        raise MalformedPayload(f"the multipart body cannot be read: {reason}") from None
    if not data:
        raise InvalidInput("the file is empty; the first row names the columns")
    return bytes(data)


@api.route(
    "POST",
    "/canned-replies",
    summary="Add a canned reply: my personal one, or (admins) a team or global one",
    tag=TAG,
    body=S.CannedReplyIn,
    response=S.CannedReplyOut,
    status=201,
)
async def create_canned_reply(request: web.Request) -> S.CannedReplyOut:
    body = await read_body(request, S.CannedReplyIn)
    reply = await canned.create(
        hub_of(request).canned_replies,
        agent_of(request),
        CannedContent(body.short_code, body.title, body.text, _files(request, body.attachments)),
        body.scope,
        body.team_id,
    )
    return reply_out(upload_tokens(request), reply)


@api.route(
    "GET",
    "/canned-replies/{id}",
    summary="One canned reply I may use",
    tag=TAG,
    response=S.CannedReplyOut,
)
async def get_canned_reply(request: web.Request) -> S.CannedReplyOut:
    reply = await canned.get(hub_of(request).canned_replies, agent_of(request), path_id(request))
    return reply_out(upload_tokens(request), reply)


@api.route(
    "PATCH",
    "/canned-replies/{id}",
    summary="Change a canned reply: my personal ones, or (admins) team and global ones",
    tag=TAG,
    body=S.CannedReplyPatch,
    response=S.CannedReplyOut,
)
async def patch_canned_reply(request: web.Request) -> S.CannedReplyOut:
    body = await read_body(request, S.CannedReplyPatch)
    given = body.model_fields_set
    if not given:
        raise InvalidInput(f"nothing to change: give {', '.join(S.CannedReplyPatch.model_fields)}")
    for name in ("short_code", "title", "text", "scope", "attachments"):
        if name in given and getattr(body, name) is None:
            raise InvalidInput(f"{name} may not be null; leave it out to keep it as it is")
    changes = canned.Changes(
        short_code=body.short_code,
        title=body.title,
        text=body.text,
        files=_files(request, body.attachments) if body.attachments is not None else None,
        scope=body.scope,
        team_id=body.team_id if "team_id" in given else canned.UNSET,
    )
    reply = await canned.update(
        hub_of(request).canned_replies, agent_of(request), path_id(request), changes
    )
    return reply_out(upload_tokens(request), reply)


@api.route(
    "DELETE",
    "/canned-replies/{id}",
    summary="Delete a canned reply: my personal ones, or (admins) team and global ones",
    tag=TAG,
)
async def delete_canned_reply(request: web.Request) -> None:
    await canned.delete(hub_of(request).canned_replies, agent_of(request), path_id(request))


@api.route(
    "POST",
    "/canned-replies/{id}/render",
    summary="Fill in a canned reply for a conversation, to edit before sending; counts as a use",
    tag=TAG,
    body=S.RenderIn,
    response=S.RenderOut,
)
async def render_canned_reply(request: web.Request) -> S.RenderOut:
    body = await read_body(request, S.RenderIn)
    rendered = await canned.use(
        hub_of(request).canned_replies, agent_of(request), path_id(request), body.conversation_id
    )
    signer = upload_tokens(request)
    return S.RenderOut(
        text=rendered.text, attachments=[file_out(signer, f) for f in rendered.files]
    )
