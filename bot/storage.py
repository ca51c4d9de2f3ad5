"""Where the project database is opened, and the schema files had before Alembic (issue 16).

`open_database` takes a SQLite path, ':memory:' or a PostgreSQL URL and returns a `bot.db.Database` migrated to
the head (bot/migrations). `LEGACY_MIGRATIONS` is frozen: it is what a SQLite file made before issue 16 holds,
recorded in its `schema_version` table; bot/migrations/runner.py stamps that version as the matching Alembic
revision and upgrades from there. New tables go to bot/migrations/versions, never here.
"""

from __future__ import annotations

import os

from bot.db import Database, DatabaseError, database_url
from bot.db import open_database as _open

__all__ = ["Database", "DatabaseError", "LEGACY_MIGRATIONS", "MIGRATIONS", "database_url", "open_database"]

# (version, SQL script) as shipped before issue 16 (SQLite only). Frozen: tests build old files with it.
LEGACY_MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        """
        CREATE TABLE handoff_requests (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            created_at TEXT NOT NULL,
            sender_hash TEXT NOT NULL,
            channel TEXT,
            procedure_code TEXT,
            last_messages TEXT NOT NULL DEFAULT '[]',
            status TEXT NOT NULL DEFAULT 'open'
        );
        CREATE TABLE feedback (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            created_at TEXT NOT NULL,
            sender_hash TEXT NOT NULL,
            channel TEXT,
            procedure_code TEXT,
            helpful INTEGER NOT NULL,
            comment TEXT
        );
        """,
    ),
    (
        2,
        # bot.cases: the embedded dossier registry and the verification rate limit.
        # Only the last four digits of the phone / ID number are kept (all that verification needs).
        """
        CREATE TABLE dossiers (
            code TEXT PRIMARY KEY,
            procedure_code TEXT NOT NULL,
            procedure_name TEXT NOT NULL,
            applicant_name TEXT NOT NULL,
            phone_last4 TEXT NOT NULL,
            id_last4 TEXT NOT NULL,
            channel TEXT NOT NULL DEFAULT 'in_person',
            agency TEXT,
            status TEXT NOT NULL,
            received_at TEXT NOT NULL,
            due_at TEXT,
            missing_documents TEXT NOT NULL DEFAULT '[]',
            note TEXT,
            source TEXT NOT NULL DEFAULT 'local'
        );
        CREATE TABLE dossier_events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            dossier_code TEXT NOT NULL REFERENCES dossiers(code) ON DELETE CASCADE,
            at TEXT NOT NULL,
            status TEXT NOT NULL,
            note TEXT
        );
        CREATE INDEX dossier_events_by_code ON dossier_events(dossier_code, at);
        CREATE TABLE verification_failures (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            sender_hash TEXT NOT NULL,
            failed_at REAL NOT NULL
        );
        CREATE INDEX verification_failures_by_sender ON verification_failures(sender_hash, failed_at);
        """,
    ),
    (
        3,
        # issue 13: failed lookups counted per sender AND per dossier code (any sender), keys salted-hashed;
        # webhook deliveries already processed (Zalo msg_id, Telegram update_id), so a replay is answered once.
        """
        CREATE TABLE lookup_failures (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            scope TEXT NOT NULL,
            key_hash TEXT NOT NULL,
            failed_at REAL NOT NULL
        );
        CREATE INDEX lookup_failures_by_key ON lookup_failures(scope, key_hash, failed_at);
        CREATE INDEX lookup_failures_by_time ON lookup_failures(failed_at);
        INSERT INTO lookup_failures (scope, key_hash, failed_at)
            SELECT 'sender', sender_hash, failed_at FROM verification_failures;
        CREATE TABLE seen_deliveries (
            channel TEXT NOT NULL,
            delivery_hash TEXT NOT NULL,
            seen_at REAL NOT NULL,
            PRIMARY KEY (channel, delivery_hash)
        );
        CREATE INDEX seen_deliveries_by_time ON seen_deliveries(seen_at);
        """,
    ),
    (
        4,
        # bot.subscriptions (issue 15): dossier follow-ups, their outbox, pushed registry events, the last
        # contact per recipient (Zalo's 7-day window), verified lookups that allow a subscription, and the
        # one-time tokens that carry a kiosk walk to a phone. Recipient ids are stored encrypted (Fernet).
        """
        CREATE TABLE subscriptions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            dossier_code TEXT NOT NULL,
            channel TEXT NOT NULL,
            recipient_hash TEXT NOT NULL,
            recipient_enc TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT,
            fingerprint TEXT,
            ended_at TEXT
        );
        CREATE INDEX subscriptions_by_code ON subscriptions(dossier_code, ended_at);
        CREATE INDEX subscriptions_by_recipient ON subscriptions(recipient_hash, ended_at);
        CREATE TABLE subscription_notices (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            subscription_id INTEGER NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,
            change_key TEXT NOT NULL,
            body TEXT NOT NULL,
            created_at TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            sent_at TEXT,
            gave_up_at TEXT,
            UNIQUE (subscription_id, change_key)
        );
        CREATE INDEX subscription_notices_pending ON subscription_notices(sent_at, gave_up_at, next_attempt_at);
        CREATE TABLE registry_events (
            event_id TEXT PRIMARY KEY,
            dossier_code TEXT NOT NULL,
            received_at TEXT NOT NULL,
            processed_at TEXT
        );
        CREATE TABLE recipient_contacts (
            channel TEXT NOT NULL,
            recipient_hash TEXT NOT NULL,
            last_contact_at TEXT NOT NULL,
            PRIMARY KEY (channel, recipient_hash)
        );
        CREATE TABLE verified_lookups (
            sender_hash TEXT PRIMARY KEY,
            dossier_code TEXT NOT NULL,
            verified_at TEXT NOT NULL
        );
        CREATE TABLE phone_handoffs (
            token_hash TEXT PRIMARY KEY,
            state TEXT NOT NULL,
            kiosk_sender_hash TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            used_at TEXT
        );
        """,
    ),
    (
        5,
        # bot.console (issue 17): the staff console. A handoff keeps the step it was on and the citizen's
        # channel id sealed (Fernet, as subscriptions) so an officer's reply reaches them; the messages of a
        # handoff; questions the walk could not answer (masked); officers, their sessions and lockouts;
        # knowledge changes waiting for review; messages per channel and day.
        """
        ALTER TABLE handoff_requests ADD COLUMN step TEXT;
        ALTER TABLE handoff_requests ADD COLUMN recipient_enc TEXT;
        ALTER TABLE handoff_requests ADD COLUMN officer TEXT;
        ALTER TABLE handoff_requests ADD COLUMN taken_at TEXT;
        ALTER TABLE handoff_requests ADD COLUMN closed_at TEXT;
        CREATE INDEX handoff_requests_by_sender ON handoff_requests(sender_hash, status);
        CREATE TABLE handoff_messages (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            handoff_id INTEGER NOT NULL REFERENCES handoff_requests(id) ON DELETE CASCADE,
            created_at TEXT NOT NULL,
            author TEXT NOT NULL,
            text TEXT NOT NULL,
            delivered_at TEXT,
            error TEXT
        );
        CREATE INDEX handoff_messages_by_handoff ON handoff_messages(handoff_id, id);
        CREATE TABLE unanswered_questions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            created_at TEXT NOT NULL,
            sender_hash TEXT NOT NULL,
            channel TEXT,
            decision TEXT NOT NULL,
            text TEXT NOT NULL
        );
        CREATE INDEX unanswered_questions_by_time ON unanswered_questions(created_at);
        CREATE TABLE console_users (
            name TEXT PRIMARY KEY,
            password_hash TEXT NOT NULL,
            created_at TEXT NOT NULL,
            failed_count INTEGER NOT NULL DEFAULT 0,
            locked_until REAL NOT NULL DEFAULT 0
        );
        CREATE TABLE console_sessions (
            token_hash TEXT PRIMARY KEY,
            user_name TEXT NOT NULL REFERENCES console_users(name) ON DELETE CASCADE,
            csrf TEXT NOT NULL,
            expires_at REAL NOT NULL
        );
        CREATE TABLE knowledge_reviews (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            created_at TEXT NOT NULL,
            author TEXT NOT NULL,
            kind TEXT NOT NULL,
            procedure_code TEXT,
            alias TEXT,
            question_id INTEGER,
            content TEXT,
            status TEXT NOT NULL DEFAULT 'pending',
            reviewer TEXT,
            reviewed_at TEXT,
            note TEXT
        );
        CREATE TABLE channel_messages (
            day TEXT NOT NULL,
            channel TEXT NOT NULL,
            count INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (day, channel)
        );
        """,
    ),
]

MIGRATIONS = LEGACY_MIGRATIONS  # the old name


def open_database(target: str | os.PathLike[str]) -> Database:
    """Open (creating if needed) the database at `target`, migrated to the latest schema."""
    return _open(target)
