"""Following a dossier like an order (issue 15): subscriptions, change detection, notices, kiosk → phone.

Modules: `config` (settings), `protect` (recipient ids encrypted at rest, Fernet), `store` (SQLite tables
of migration 3), `notices` (the Vietnamese notice, change fingerprint, expiry), `senders` (Telegram / Zalo
clients), `watcher` (polls the registry, reads pushed events, delivers the outbox), `handoff` (one-time
kiosk → phone tokens), `signing` (HMAC of pushed registry events), `contacts` (Zalo's 7-day window),
`service` (process-wide objects; starts the watcher inside the action server).
`store`, `handoff`, `signing` and `contacts` use the standard library only: the Rasa server imports them.
"""
