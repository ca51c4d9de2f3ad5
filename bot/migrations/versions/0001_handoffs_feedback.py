"""Handoff requests and feedback (was schema_version 1).

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "handoff_requests",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("sender_hash", sa.Text, nullable=False),
        sa.Column("channel", sa.Text),
        sa.Column("procedure_code", sa.Text),
        sa.Column("last_messages", sa.Text, nullable=False, server_default="[]"),
        sa.Column("status", sa.Text, nullable=False, server_default="open"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("sender_hash", sa.Text, nullable=False),
        sa.Column("channel", sa.Text),
        sa.Column("procedure_code", sa.Text),
        sa.Column("helpful", sa.Integer, nullable=False),
        sa.Column("comment", sa.Text),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("feedback")
    op.drop_table("handoff_requests")
