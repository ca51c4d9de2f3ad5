"""Custom actions served by rasa-sdk (`python -m rasa_sdk --actions actions`), thin wrappers around `bot.*`.

Importing the package checks the knowledge base first: the action server refuses to start (exit 1, every
error listed as `file: field: message`) rather than serve a half-broken knowledge base. It also masks phone
and ID numbers in every log line the action server writes.
"""

import logging

from bot.knowledge import load_or_exit
from bot.privacy import RedactingFilter

load_or_exit()

for _handler in logging.getLogger().handlers:
    _handler.addFilter(RedactingFilter())
logging.getLogger().addFilter(RedactingFilter())
