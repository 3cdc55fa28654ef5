"""Canned replies' use cases on fakes: who sees and manages which, search, use and import."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hub.domain.canned import CannedContent, ConversationFacts, Scope, checked_content
from hub.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from hub.domain.model import AttachmentRef, MessageKind, Role
from hub.domain.records import Agent
from hub.services import canned
from hub.services.canned_csv import write
from tests.fakes.canned import FakeCannedReplies

SUPPORT, SALES = 1, 2
PDF = AttachmentRef(
    kind=MessageKind.FILE,
    filename="退货单.pdf",
    content_type="application/pdf",
    size=1024,
    storage_key="ab/returns",
)


def agent(agent_id: int, name: str, role: Role = Role.AGENT) -> Agent:
    return Agent(agent_id, f"{agent_id}@shop.test", name, role, True, "", datetime.now(UTC))


ADMIN = agent(1, "Wang Fang 王芳", Role.ADMIN)
LI_NA = agent(2, "Li Na 李娜")  # Support
ZHAO = agent(3, "Zhao Lei 赵磊")  # Sales


@pytest.fixture
def replies() -> FakeCannedReplies:
    fake = FakeCannedReplies()
    fake.add_team(SUPPORT, "Support 售后", LI_NA.id)
    fake.add_team(SALES, "Sales 售前", ZHAO.id)
    fake.add_conversation(ConversationFacts(42, "Visitor 访客 #a1b2c3", None, None, "Web chat"))
    return fake


def content(code: str, title: str = "", text: str = "text") -> CannedContent:
    return CannedContent(code, title or code, text)


async def codes(replies: FakeCannedReplies, who: Agent, query: str | None = None) -> list[str]:
    return [r.short_code for r in await canned.search(replies, who, query)]


async def shelves(replies: FakeCannedReplies) -> dict[str, int]:
    """One canned reply on every kind of shelf."""
    made = {
        "mine": await canned.create(replies, LI_NA, content("mine")),
        "his": await canned.create(replies, ZHAO, content("his")),
        "admins": await canned.create(replies, ADMIN, content("admins")),
        "support": await canned.create(replies, ADMIN, content("support"), Scope.TEAM, SUPPORT),
        "sales": await canned.create(replies, ADMIN, content("sales"), Scope.TEAM, SALES),
        "everyone": await canned.create(replies, ADMIN, content("everyone"), Scope.GLOBAL),
    }
    return {name: reply.id for name, reply in made.items()}


async def test_agents_see_their_own_their_teams_and_the_global_ones(
    replies: FakeCannedReplies,
) -> None:
    await shelves(replies)
    assert sorted(await codes(replies, LI_NA)) == ["everyone", "mine", "support"]
    assert sorted(await codes(replies, ZHAO)) == ["everyone", "his", "sales"]
    # admins manage every team's; another agent's personal ones are theirs alone
    assert sorted(await codes(replies, ADMIN)) == ["admins", "everyone", "sales", "support"]


async def test_another_agents_personal_one_is_as_absent_as_one_that_never_was(
    replies: FakeCannedReplies,
) -> None:
    ids = await shelves(replies)
    for who in (LI_NA, ADMIN):
        with pytest.raises(NotFound):
            await canned.get(replies, who, ids["his"])
        with pytest.raises(NotFound):
            await canned.update(replies, who, ids["his"], canned.Changes(title="mine now"))
        with pytest.raises(NotFound):
            await canned.delete(replies, who, ids["his"])
        with pytest.raises(NotFound):
            await canned.use(replies, who, ids["his"], 42)
    with pytest.raises(NotFound):
        await canned.get(replies, LI_NA, ids["sales"])  # another team's
    assert (await canned.get(replies, ZHAO, ids["his"])).title == "his"


@pytest.mark.parametrize(("scope", "team_id"), [(Scope.TEAM, SUPPORT), (Scope.GLOBAL, None)])
async def test_agents_may_not_add_team_or_global_ones(
    replies: FakeCannedReplies, scope: Scope, team_id: int | None
) -> None:
    with pytest.raises(Forbidden, match="only an admin"):
        await canned.create(replies, LI_NA, content("x"), scope, team_id)
    assert replies.replies == {}


async def test_agents_use_but_do_not_change_their_teams_and_the_global_ones(
    replies: FakeCannedReplies,
) -> None:
    ids = await shelves(replies)
    for name in ("support", "everyone"):
        with pytest.raises(Forbidden):
            await canned.update(replies, LI_NA, ids[name], canned.Changes(text="changed"))
        with pytest.raises(Forbidden):
            await canned.delete(replies, LI_NA, ids[name])
        assert (await canned.use(replies, LI_NA, ids[name], 42)).text == "text"
    # nor move their own to a shelf they do not manage
    with pytest.raises(Forbidden):
        await canned.update(replies, LI_NA, ids["mine"], canned.Changes(scope=Scope.GLOBAL))
    assert replies.replies[ids["mine"]].shelf.scope is Scope.PERSONAL


async def test_agents_change_and_delete_their_own(replies: FakeCannedReplies) -> None:
    ids = await shelves(replies)
    changed = await canned.update(
        replies, LI_NA, ids["mine"], canned.Changes(short_code="/Mine2", files=(PDF,))
    )
    assert (changed.short_code, changed.title, changed.content.files) == ("Mine2", "mine", (PDF,))
    await canned.delete(replies, LI_NA, ids["mine"])
    assert ids["mine"] not in replies.replies


async def test_admins_move_them_between_shelves(replies: FakeCannedReplies) -> None:
    ids = await shelves(replies)
    moved = await canned.update(replies, ADMIN, ids["support"], canned.Changes(scope=Scope.GLOBAL))
    assert (moved.shelf.scope, moved.shelf.team_id) == (Scope.GLOBAL, None)
    moved = await canned.update(
        replies, ADMIN, ids["support"], canned.Changes(scope=Scope.TEAM, team_id=SALES)
    )
    assert (moved.shelf.scope, moved.shelf.team_id) == (Scope.TEAM, SALES)
    # one made personal becomes the admin's own
    moved = await canned.update(
        replies, ADMIN, ids["support"], canned.Changes(scope=Scope.PERSONAL)
    )
    assert (moved.shelf.scope, moved.shelf.owner_id) == (Scope.PERSONAL, ADMIN.id)
    assert "support" not in await codes(replies, LI_NA)


@pytest.mark.parametrize(
    ("scope", "team_id", "reason"),
    [
        (Scope.TEAM, None, "names its team"),
        (Scope.TEAM, 99, "there is no team 99"),
        (Scope.GLOBAL, SUPPORT, "only a team canned reply names a team"),
        (Scope.PERSONAL, SUPPORT, "only a team canned reply names a team"),
    ],
)
async def test_a_shelf_names_a_team_exactly_when_it_is_a_teams(
    replies: FakeCannedReplies, scope: Scope, team_id: int | None, reason: str
) -> None:
    with pytest.raises(InvalidInput, match=reason):
        await canned.create(replies, ADMIN, content("x"), scope, team_id)
    ids = await shelves(replies)
    with pytest.raises(InvalidInput, match=reason):
        await canned.update(
            replies, ADMIN, ids["everyone"], canned.Changes(scope=scope, team_id=team_id)
        )


async def test_a_short_code_is_unique_on_its_shelf_whatever_its_case(
    replies: FakeCannedReplies,
) -> None:
    await canned.create(replies, LI_NA, content("thx"))
    with pytest.raises(Conflict):
        await canned.create(replies, LI_NA, content("THX"))
    # the same code on other shelves is another canned reply
    await canned.create(replies, ZHAO, content("thx"))
    await canned.create(replies, ADMIN, content("thx"), Scope.TEAM, SUPPORT)
    await canned.create(replies, ADMIN, content("thx"), Scope.GLOBAL)
    assert await codes(replies, LI_NA) == ["thx", "thx", "thx"]


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        (CannedContent("", "T", "x"), "short_code: give a short code"),
        (CannedContent("/", "T", "x"), "short_code: give a short code"),
        (CannedContent("退 货", "T", "x"), "no spaces"),
        (CannedContent("a\u200bb\x07", "T", "x"), "control characters"),
        (CannedContent("x" * 33, "T", "x"), "at most 32"),
        (CannedContent("x", "  ", "x"), "title: give a title"),
        (CannedContent("x", "two\nlines", "x"), "title: one line"),
        (CannedContent("x", "T", "  \n"), "text: write the reply's text, or attach a file"),
        (CannedContent("x", "T", "x" * 10_001), "text: at most"),
        (CannedContent("x", "T", "x", (PDF,) * 11), "attachments: at most 10"),
    ],
)
def test_what_a_canned_reply_may_hold(given: CannedContent, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        checked_content(given)


def test_a_short_code_loses_its_slash_and_the_spaces_around() -> None:
    kept = checked_content(CannedContent("  /退货 ", " 退货流程 ", "", (PDF,)))
    assert (kept.short_code, kept.title, kept.text) == ("退货", "退货流程", "")


async def test_search_finds_chinese_and_english_in_code_title_and_text(
    replies: FakeCannedReplies,
) -> None:
    await canned.create(replies, ADMIN, content("th", "退货流程", "请将商品寄回"), Scope.GLOBAL)
    await canned.create(replies, ADMIN, content("ship", "Shipping time", "3-5 days"), Scope.GLOBAL)
    await canned.create(replies, LI_NA, content("hi", "问候", "您好，有什么可以帮您？"))
    assert await codes(replies, LI_NA, "退") == ["th"]
    assert await codes(replies, LI_NA, "寄回") == ["th"]
    assert await codes(replies, LI_NA, "SHIPPING") == ["ship"]
    assert await codes(replies, LI_NA, "days 3-5") == ["ship"]
    assert await codes(replies, LI_NA, "days 退") == []
    assert await codes(replies, LI_NA, "帮您") == ["hi"]
    assert sorted(await codes(replies, LI_NA, None)) == ["hi", "ship", "th"]


async def test_search_puts_short_codes_first_then_titles_then_the_most_used(
    replies: FakeCannedReplies,
) -> None:
    text_only = await canned.create(replies, LI_NA, content("a", "A", "refund within 7 days"))
    await canned.create(replies, LI_NA, content("b", "How to refund", "x"))
    used = await canned.create(replies, LI_NA, content("c", "Refunds, used", "x"))
    await canned.create(replies, LI_NA, content("refund", "R", "x"))
    await canned.use(replies, LI_NA, used.id, 42)
    await canned.use(replies, LI_NA, text_only.id, 42)
    assert await codes(replies, LI_NA, "refund") == ["refund", "c", "b", "a"]
    assert await codes(replies, LI_NA, "scope") == []


async def test_search_within_a_scope(replies: FakeCannedReplies) -> None:
    await shelves(replies)
    found = await canned.search(replies, LI_NA, None, Scope.TEAM)
    assert [r.short_code for r in found] == ["support"]


async def test_use_fills_in_the_conversation_counts_and_hands_out_the_files(
    replies: FakeCannedReplies,
) -> None:
    reply = await canned.create(
        replies,
        ADMIN,
        CannedContent("th", "退货流程", "{{contact.name}}您好，我是{{agent.name}}。{{x}}", (PDF,)),
        Scope.GLOBAL,
    )
    used = await canned.use(replies, LI_NA, reply.id, 42)
    assert used.text == "Visitor 访客 #a1b2c3您好，我是Li Na 李娜。"
    assert used.files == (PDF,)
    await canned.use(replies, ZHAO, reply.id, 42)
    kept = replies.replies[reply.id]
    assert kept.uses == 2
    assert kept.last_used_at is not None
    assert kept.text.startswith("{{contact.name}}")  # the template itself never changes


async def test_use_for_an_unknown_conversation_counts_nothing(replies: FakeCannedReplies) -> None:
    reply = await canned.create(replies, LI_NA, content("x"))
    with pytest.raises(NotFound, match="conversation 43"):
        await canned.use(replies, LI_NA, reply.id, 43)
    assert replies.replies[reply.id].uses == 0


def csv_file(*rows: tuple[str, ...]) -> bytes:
    return write(list(rows))


async def test_an_agent_imports_personal_rows_and_is_refused_the_others(
    replies: FakeCannedReplies,
) -> None:
    report = await canned.import_csv(
        replies,
        LI_NA,
        csv_file(
            ("thx", "感谢", "谢谢！", "", ""),
            ("hi", "问候", "您好", "personal", ""),
            ("g", "G", "x", "global", ""),
            ("t", "T", "x", "team", "Support 售后"),
        ),
    )
    assert (report.created, report.updated) == (2, 0)
    assert [(r.row, r.reason) for r in report.refused] == [
        (4, "only an admin may import team and global canned replies"),
        (5, "only an admin may import team and global canned replies"),
    ]
    assert sorted(await codes(replies, LI_NA)) == ["hi", "thx"]


async def test_an_admin_import_creates_updates_and_says_what_it_refused(
    replies: FakeCannedReplies,
) -> None:
    old = await canned.create(
        replies, ADMIN, CannedContent("th", "old", "old", (PDF,)), Scope.TEAM, SUPPORT
    )
    report = await canned.import_csv(
        replies,
        ADMIN,
        csv_file(
            ("TH", "退货流程", "{{contact.name}}，请将商品寄回。", "team", "Support 售后"),
            ("th", "again", "x", "global", ""),
            ("th", "twice", "x", "global", ""),
            ("x", "X", "x", "team", "Nobody"),
            ("y", "Y", "x", "team", ""),
            ("z", "Z", "x", "everyone", ""),
            ("w", "W", "x", "global", "Support 售后"),
            ("bad code", "B", "x", "", ""),
            ("empty", "E", "", "", ""),
        ),
    )
    assert (report.created, report.updated) == (1, 1)
    assert [(r.row, r.reason) for r in report.refused] == [
        (4, "short_code 'th' is on row 3 too"),
        (5, "there is no team named 'Nobody'"),
        (6, "a team row names its team in the team column"),
        (7, "scope 'everyone' is none of personal, team and global (empty: personal)"),
        (8, "only a team row names a team, not a global one"),
        (9, "short_code: a short code has no spaces or control characters"),
        (10, "text: write the reply's text, or attach a file"),
    ]
    updated = replies.replies[old.id]
    assert (updated.short_code, updated.title) == ("TH", "退货流程")
    assert updated.content.files == (PDF,)  # an import never drops saved files


async def test_an_import_of_the_export_changes_nothing_but_counts_updates(
    replies: FakeCannedReplies,
) -> None:
    await shelves(replies)
    before = {r.id: (r.shelf, r.content) for r in replies.replies.values()}
    exported = await canned.export_csv(replies, ADMIN)
    report = await canned.import_csv(replies, ADMIN, exported)
    assert (report.created, report.updated, report.refused) == (0, 4, [])
    assert {r.id: (r.shelf, r.content) for r in replies.replies.values()} == before


async def test_an_export_has_what_the_agent_sees_with_teams_by_name(
    replies: FakeCannedReplies,
) -> None:
    await shelves(replies)
    text = (await canned.export_csv(replies, LI_NA)).decode("utf-8-sig")
    assert text.splitlines() == [
        "short_code,title,text,scope,team",
        "everyone,everyone,text,global,",
        "mine,mine,text,personal,",
        "support,support,text,team,Support 售后",
    ]
