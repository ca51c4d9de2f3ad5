"""bot.subscriptions (issue 15): follow-ups, their outbox, pushed registry events, contacts, verified lookups,
kiosk-to-phone tokens (was schema_version 4). Recipient ids are stored sealed (Fernet).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("dossier_code", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("recipient_hash", sa.Text, nullable=False),
        sa.Column("recipient_enc", sa.Text, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("expires_at", sa.Text),
        sa.Column("fingerprint", sa.Text),
        sa.Column("ended_at", sa.Text),
        sqlite_autoincrement=True,
    )
    op.create_index("subscriptions_by_code", "subscriptions", ["dossier_code", "ended_at"])
    op.create_index("subscriptions_by_recipient", "subscriptions", ["recipient_hash", "ended_at"])
    op.create_table(
        "subscription_notices",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("subscription_id", sa.Integer, sa.ForeignKey("subscriptions.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("change_key", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.Text, nullable=False),
        sa.Column("sent_at", sa.Text),
        sa.Column("gave_up_at", sa.Text),
        sa.UniqueConstraint("subscription_id", "change_key"),
        sqlite_autoincrement=True,
    )
    op.create_index("subscription_notices_pending", "subscription_notices", ["sent_at", "gave_up_at", "next_attempt_at"])
    op.create_table(
        "registry_events",
        sa.Column("event_id", sa.Text, primary_key=True),
        sa.Column("dossier_code", sa.Text, nullable=False),
        sa.Column("received_at", sa.Text, nullable=False),
        sa.Column("processed_at", sa.Text),
    )
    op.create_table(
        "recipient_contacts",
        sa.Column("channel", sa.Text, primary_key=True),
        sa.Column("recipient_hash", sa.Text, primary_key=True),
        sa.Column("last_contact_at", sa.Text, nullable=False),
    )
    op.create_table(
        "verified_lookups",
        sa.Column("sender_hash", sa.Text, primary_key=True),
        sa.Column("dossier_code", sa.Text, nullable=False),
        sa.Column("verified_at", sa.Text, nullable=False),
    )
    op.create_table(
        "phone_handoffs",
        sa.Column("token_hash", sa.Text, primary_key=True),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("kiosk_sender_hash", sa.Text, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("expires_at", sa.Text, nullable=False),
        sa.Column("used_at", sa.Text),
    )


def downgrade() -> None:
    for table in ("phone_handoffs", "verified_lookups", "recipient_contacts", "registry_events",
                  "subscription_notices", "subscriptions"):
        op.drop_table(table)
