"""bot.cases: the embedded dossier registry and the verification rate limit (was schema_version 2).

Only the last four digits of the phone / ID number are kept (all that verification needs).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dossiers",
        sa.Column("code", sa.Text, primary_key=True),
        sa.Column("procedure_code", sa.Text, nullable=False),
        sa.Column("procedure_name", sa.Text, nullable=False),
        sa.Column("applicant_name", sa.Text, nullable=False),
        sa.Column("phone_last4", sa.Text, nullable=False),
        sa.Column("id_last4", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False, server_default="in_person"),
        sa.Column("agency", sa.Text),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("received_at", sa.Text, nullable=False),
        sa.Column("due_at", sa.Text),
        sa.Column("missing_documents", sa.Text, nullable=False, server_default="[]"),
        sa.Column("note", sa.Text),
        sa.Column("source", sa.Text, nullable=False, server_default="local"),
    )
    op.create_table(
        "dossier_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("dossier_code", sa.Text, sa.ForeignKey("dossiers.code", ondelete="CASCADE"), nullable=False),
        sa.Column("at", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("note", sa.Text),
        sqlite_autoincrement=True,
    )
    op.create_index("dossier_events_by_code", "dossier_events", ["dossier_code", "at"])
    op.create_table(
        "verification_failures",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sender_hash", sa.Text, nullable=False),
        sa.Column("failed_at", sa.Float, nullable=False),  # epoch seconds: double precision on PostgreSQL
        sqlite_autoincrement=True,
    )
    op.create_index("verification_failures_by_sender", "verification_failures", ["sender_hash", "failed_at"])


def downgrade() -> None:
    op.drop_table("verification_failures")
    op.drop_table("dossier_events")
    op.drop_table("dossiers")
