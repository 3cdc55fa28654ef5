"""Request and response bodies of ``/api/v1/canned-replies``."""

from __future__ import annotations

from pydantic import Field

from hub.domain.canned import MAX_FILES, MAX_SHORT_CODE, MAX_TEXT, MAX_TITLE, VARIABLES, Scope
from hub.domain.model import MessageKind
from hub.web.schemas import DbId, In, Out

_VARIABLES = ", ".join("{{" + name + "}}" for name in VARIABLES)
_TOKENS = (
    "tokens from POST /uploads, or the tokens a canned reply's attachments carry (to keep them); "
    "the list replaces the files"
)
_SHORT_CODE = "typed after / in the reply box; no spaces; unique on its shelf, whatever its case"
_TEXT = f"may hold the variables {_VARIABLES}, filled in when used"


class CannedFileOut(Out):
    """A saved file; its token attaches it to a reply (POST /conversations/{id}/messages) or
    keeps it in a canned reply, for a day."""

    token: str
    filename: str
    content_type: str
    size: int | None
    kind: MessageKind


class CannedReplyOut(Out):
    id: int
    short_code: str
    title: str
    text: str
    scope: Scope = Field(
        description="personal (only its owner sees it), team (the team's members) or global"
    )
    team_id: int | None = Field(description="the team of a team canned reply, else null")
    owner_id: int | None = Field(description="the agent of a personal canned reply, else null")
    attachments: list[CannedFileOut] = Field(description="saved files sent with it")
    uses: int = Field(description="how many times agents used it (POST .../render)")
    last_used_at: str | None
    created_at: str
    updated_at: str


class CannedReplyList(Out):
    items: list[CannedReplyOut]
    next: str | None = Field(description="pass as `cursor` for the next page")


class CannedReplyQuery(In):
    q: str | None = Field(
        default=None,
        max_length=200,
        description="words that must each appear in the short code, title or text, in any "
        "case (Chinese or English); best matches first",
    )
    scope: Scope | None = None
    cursor: str | None = Field(default=None, max_length=200)
    limit: int = Field(default=100, ge=1, le=500)


class CannedReplyIn(In):
    short_code: str = Field(min_length=1, max_length=MAX_SHORT_CODE + 1, description=_SHORT_CODE)
    title: str = Field(min_length=1, max_length=MAX_TITLE)
    text: str = Field(default="", max_length=MAX_TEXT, description=_TEXT)
    scope: Scope = Field(
        default=Scope.PERSONAL, description="team and global ones are an admin's to make"
    )
    team_id: DbId | None = Field(default=None, description="the team of a team canned reply")
    attachments: list[str] = Field(default_factory=list, max_length=MAX_FILES, description=_TOKENS)


class CannedReplyPatch(In):
    short_code: str | None = Field(
        default=None, min_length=1, max_length=MAX_SHORT_CODE + 1, description=_SHORT_CODE
    )
    title: str | None = Field(default=None, min_length=1, max_length=MAX_TITLE)
    text: str | None = Field(default=None, max_length=MAX_TEXT, description=_TEXT)
    scope: Scope | None = Field(
        default=None, description="moves it to another shelf; a personal one becomes yours"
    )
    team_id: DbId | None = Field(
        default=None, description="the team of a team canned reply (omit to keep it)"
    )
    attachments: list[str] | None = Field(default=None, max_length=MAX_FILES, description=_TOKENS)


class RenderIn(In):
    conversation_id: DbId


class RenderOut(Out):
    text: str = Field(description="the text with the conversation's values filled in")
    attachments: list[CannedFileOut] = Field(
        description="the saved files, each with a token to attach to the reply"
    )


class RefusedRow(Out):
    row: int = Field(description="the row's number as a spreadsheet shows it (the header is 1)")
    reason: str


class ImportReport(Out):
    created: int
    updated: int = Field(
        description="rows whose short code their shelf had: title and text changed, files kept"
    )
    refused: list[RefusedRow]
