"""Rasa custom input channels: Telegram, Zalo Official Account and the ward-office kiosk.

Loaded by the Rasa server (Python 3.10) from `credentials.yml` by module path,
e.g. `bot.channels.telegram.TelegramInput`. Nothing heavy is imported here, and
never `bot.knowledge` / `bot.retrieval` (they need the other environment).
"""
