"""automatic invitation rules of web chat channels, with their counts

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "invitation_rules",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("channel_id", Id, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("page", sa.String(length=300), nullable=False),
        sa.Column("delay_s", sa.Integer(), nullable=False),
        sa.Column("min_visits", sa.Integer(), nullable=False),
        sa.Column("search_words", sa.String(length=200), nullable=False),
        sa.Column("cooldown_s", sa.Integer(), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("accepted", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("declined", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("ignored", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name=op.f("fk_invitation_rules_channel_id_channels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitation_rules")),
    )
    op.create_index(
        op.f("ix_invitation_rules_channel_id"), "invitation_rules", ["channel_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_invitation_rules_channel_id"), table_name="invitation_rules")
    op.drop_table("invitation_rules")
