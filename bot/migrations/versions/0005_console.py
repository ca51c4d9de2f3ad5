"""bot.console (issue 17): the staff console (was schema_version 5).

A handoff keeps its step and the citizen's channel id sealed so an officer's reply reaches them; the messages of
a handoff; questions the walk could not answer (masked); officers, sessions, lockouts; knowledge changes waiting
for review; messages per channel and day.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for name in ("step", "recipient_enc", "officer", "taken_at", "closed_at"):
        op.add_column("handoff_requests", sa.Column(name, sa.Text))
    op.create_index("handoff_requests_by_sender", "handoff_requests", ["sender_hash", "status"])
    op.create_table(
        "handoff_messages",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("handoff_id", sa.Integer, sa.ForeignKey("handoff_requests.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("author", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("delivered_at", sa.Text),
        sa.Column("error", sa.Text),
        sqlite_autoincrement=True,
    )
    op.create_index("handoff_messages_by_handoff", "handoff_messages", ["handoff_id", "id"])
    op.create_table(
        "unanswered_questions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("sender_hash", sa.Text, nullable=False),
        sa.Column("channel", sa.Text),
        sa.Column("decision", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("unanswered_questions_by_time", "unanswered_questions", ["created_at"])
    op.create_table(
        "console_users",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("failed_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("locked_until", sa.Float, nullable=False, server_default="0"),
    )
    op.create_table(
        "console_sessions",
        sa.Column("token_hash", sa.Text, primary_key=True),
        sa.Column("user_name", sa.Text, sa.ForeignKey("console_users.name", ondelete="CASCADE"), nullable=False),
        sa.Column("csrf", sa.Text, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    op.create_table(
        "knowledge_reviews",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("author", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("procedure_code", sa.Text),
        sa.Column("alias", sa.Text),
        sa.Column("question_id", sa.Integer),
        sa.Column("content", sa.Text),
        sa.Column("status", sa.Text, nullable=False, server_default="pending"),
        sa.Column("reviewer", sa.Text),
        sa.Column("reviewed_at", sa.Text),
        sa.Column("note", sa.Text),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "channel_messages",
        sa.Column("day", sa.Text, primary_key=True),
        sa.Column("channel", sa.Text, primary_key=True),
        sa.Column("count", sa.Integer, nullable=False, server_default="0"),
    )


def downgrade() -> None:
    for table in ("channel_messages", "knowledge_reviews", "console_sessions", "console_users",
                  "unanswered_questions", "handoff_messages"):
        op.drop_table(table)
    op.drop_index("handoff_requests_by_sender", "handoff_requests")
    for name in ("closed_at", "taken_at", "officer", "recipient_enc", "step"):
        op.drop_column("handoff_requests", name)
