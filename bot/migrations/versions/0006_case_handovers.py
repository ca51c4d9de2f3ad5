"""A verified lookup's outcome handed from the form's validation to the action that answers, kept in the
database so that the two calls may reach different action-server replicas (the cluster profile).

Only the outcome word, the dossier code and the counters: never the verification digits, never the dossier.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_handovers",
        sa.Column("sender_hash", sa.Text, primary_key=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("code", sa.Text),
        sa.Column("attempts_left", sa.Integer),
        sa.Column("retry_after_seconds", sa.Integer),
    )


def downgrade() -> None:
    op.drop_table("case_handovers")
