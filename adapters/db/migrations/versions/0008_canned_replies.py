"""canned replies: personal, team and global, with saved files and a use count

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

SHELF_RULE = (
    "(scope = 'personal' AND owner_id IS NOT NULL AND team_id IS NULL)"
    " OR (scope = 'team' AND team_id IS NOT NULL AND owner_id IS NULL)"
    " OR (scope = 'global' AND owner_id IS NULL AND team_id IS NULL)"
)


def upgrade() -> None:
    op.create_table(
        "canned_replies",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("owner_id", Id, nullable=True),
        sa.Column("team_id", Id, nullable=True),
        sa.Column("short_code", sa.String(length=32), nullable=False),
        sa.Column("code_key", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("search_key", sa.Text(), nullable=False),
        sa.Column("uses", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(SHELF_RULE, name="ck_canned_replies_shelf"),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["agents.id"],
            name=op.f("fk_canned_replies_owner_id_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_canned_replies_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canned_replies")),
    )
    for name, columns, scope in (
        ("uq_canned_replies_personal", ["owner_id", "code_key"], "personal"),
        ("uq_canned_replies_team", ["team_id", "code_key"], "team"),
        ("uq_canned_replies_global", ["code_key"], "global"),
    ):
        where = sa.text(f"scope = '{scope}'")
        op.create_index(
            name,
            "canned_replies",
            columns,
            unique=True,
            sqlite_where=where,
            postgresql_where=where,
        )


def downgrade() -> None:
    for name in ("uq_canned_replies_global", "uq_canned_replies_team", "uq_canned_replies_personal"):
        op.drop_index(name, table_name="canned_replies")
    op.drop_table("canned_replies")
