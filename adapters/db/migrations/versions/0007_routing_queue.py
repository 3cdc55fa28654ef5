"""when each agent was last assigned a conversation; indexes for the waiting queue and loads

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WAITING = sa.text("assignee_id IS NULL AND status = 'open'")


def upgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.add_column(sa.Column("last_assigned_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_conversations_waiting",
        "conversations",
        ["team_id", "id"],
        sqlite_where=WAITING,
        postgresql_where=WAITING,
    )
    op.create_index("ix_conversations_assignee", "conversations", ["assignee_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_conversations_assignee", table_name="conversations")
    op.drop_index("ix_conversations_waiting", table_name="conversations")
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("last_assigned_at")
