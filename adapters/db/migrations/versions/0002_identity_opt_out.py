"""a customer's opt-out of a channel (an SMS STOP)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 16:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("channel_identities") as batch:
        batch.add_column(sa.Column("opted_out_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("channel_identities") as batch:
        batch.drop_column("opted_out_at")
