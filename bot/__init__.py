"""Trợ lý thủ tục hành chính — the assistant's Python package.

Kept import-light on purpose: this package is imported both by the Rasa server
(Python 3.10, `.venv-rasa`, for `bot.channels`) and by the action server and
command-line tools (Python 3.11, `.venv`). Heavy libraries (torch, faiss,
pydantic v2, rasa) are imported only inside the sub-modules that need them.
"""

__version__ = "0.1.0"
