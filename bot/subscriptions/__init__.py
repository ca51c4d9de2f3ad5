"""Following a dossier like an order (issue 15): subscriptions, change detection, notices, kiosk → phone.

Modules: `config` (settings), `protect` (recipient ids encrypted at rest), `store` (SQLite tables of
migration 3), `notices` (the Vietnamese notice), `senders` (Telegram / Zalo clients), `watcher` (polls
the registry, reads pushed events, delivers the outbox), `handoff` (one-time kiosk → phone tokens).
`store`, `config` and `handoff` use the standard library only: the Rasa server imports them too.
"""
