"""Issue 13: failed lookups per sender AND per dossier code; webhook deliveries already processed (was 3).

Keys are salted hashes; Zalo msg_id / Telegram update_id hashed, so a replay is answered once.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lookup_failures",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("key_hash", sa.Text, nullable=False),
        sa.Column("failed_at", sa.Float, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("lookup_failures_by_key", "lookup_failures", ["scope", "key_hash", "failed_at"])
    op.create_index("lookup_failures_by_time", "lookup_failures", ["failed_at"])
    op.execute(
        "INSERT INTO lookup_failures (scope, key_hash, failed_at)"
        " SELECT 'sender', sender_hash, failed_at FROM verification_failures"
    )
    op.create_table(
        "seen_deliveries",
        sa.Column("channel", sa.Text, primary_key=True),
        sa.Column("delivery_hash", sa.Text, primary_key=True),
        sa.Column("seen_at", sa.Float, nullable=False),
    )
    op.create_index("seen_deliveries_by_time", "seen_deliveries", ["seen_at"])


def downgrade() -> None:
    op.drop_table("seen_deliveries")
    op.drop_table("lookup_failures")
