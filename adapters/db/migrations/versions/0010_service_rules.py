"""business hours, channels' service rules and the automatic messages they sent; conversations'
ratings and their times in business hours

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("rating_score", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("rating_comment", sa.Text(), nullable=True))
        batch.add_column(sa.Column("rated_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("rating_requested_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("rating_expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("first_response_business_s", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("resolution_business_s", sa.Integer(), nullable=True))
    op.create_table(
        "business_hours",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("team_id", Id, nullable=True),
        sa.Column("channel_id", Id, nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("week", sa.JSON(), nullable=False),
        sa.Column("holidays", sa.JSON(), nullable=False),
        sa.Column("working_days", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(team_id IS NULL) <> (channel_id IS NULL)", name="ck_business_hours_owner"
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_business_hours_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name=op.f("fk_business_hours_channel_id_channels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_hours")),
        sa.UniqueConstraint("team_id", name=op.f("uq_business_hours_team_id")),
        sa.UniqueConstraint("channel_id", name=op.f("uq_business_hours_channel_id")),
    )
    op.create_table(
        "service_rules",
        sa.Column("channel_id", Id, nullable=False),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("rating_reply_s", sa.Integer(), nullable=False),
        sa.Column("messages", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name=op.f("fk_service_rules_channel_id_channels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("channel_id", name=op.f("pk_service_rules")),
    )
    op.create_table(
        "automatic_messages",
        sa.Column("conversation_id", Id, nullable=False),
        sa.Column("rule", sa.String(length=20), nullable=False),
        sa.Column("message_id", Id, nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_automatic_messages_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_automatic_messages_message_id_messages"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("conversation_id", "rule", name=op.f("pk_automatic_messages")),
    )


def downgrade() -> None:
    op.drop_table("automatic_messages")
    op.drop_table("service_rules")
    op.drop_table("business_hours")
    with op.batch_alter_table("conversations") as batch:
        for column in (
            "resolution_business_s",
            "first_response_business_s",
            "rating_expires_at",
            "rating_requested_at",
            "rated_at",
            "rating_comment",
            "rating_score",
        ):
            batch.drop_column(column)
