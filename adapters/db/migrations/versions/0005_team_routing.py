"""teams' assignment mode, capacity, answer timeout and queue limit; agents' own capacity

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("teams") as batch:
        batch.add_column(
            sa.Column(
                "assignment_mode", sa.String(length=20), nullable=False, server_default="manual"
            )
        )
        batch.add_column(
            sa.Column("agent_capacity", sa.Integer(), nullable=False, server_default="10")
        )
        batch.add_column(sa.Column("answer_timeout_s", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("queue_limit", sa.Integer(), nullable=True))
    with op.batch_alter_table("agents") as batch:
        batch.add_column(sa.Column("capacity", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("capacity")
    with op.batch_alter_table("teams") as batch:
        batch.drop_column("queue_limit")
        batch.drop_column("answer_timeout_s")
        batch.drop_column("agent_capacity")
        batch.drop_column("assignment_mode")
