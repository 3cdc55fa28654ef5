"""agents' presence, chosen and effective, and its history as intervals

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.add_column(
            sa.Column("presence", sa.String(length=10), nullable=False, server_default="offline")
        )
        batch.add_column(
            sa.Column(
                "chosen_presence", sa.String(length=10), nullable=False, server_default="online"
            )
        )
    op.create_table(
        "presence_intervals",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("agent_id", Id, nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_presence_intervals_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_presence_intervals")),
    )
    op.create_index(
        "ix_presence_intervals_agent", "presence_intervals", ["agent_id", "started_at"]
    )
    op.create_index(
        "uq_presence_intervals_open",
        "presence_intervals",
        ["agent_id"],
        unique=True,
        sqlite_where=sa.text("ended_at IS NULL"),
        postgresql_where=sa.text("ended_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_presence_intervals_open", table_name="presence_intervals")
    op.drop_index("ix_presence_intervals_agent", table_name="presence_intervals")
    op.drop_table("presence_intervals")
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("chosen_presence")
        batch.drop_column("presence")
