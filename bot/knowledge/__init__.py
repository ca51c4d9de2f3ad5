"""Procedure knowledge base: schema, loader, validator, national catalogue importer.

Imports pydantic v2, so only the app environment (`.venv`) imports this package;
the Rasa server (`bot.channels`) must not.
"""

from bot.knowledge.loader import (
    KnowledgeBase,
    KnowledgeBaseError,
    get_knowledge_base,
    load_knowledge_base,
    load_or_exit,
    reset_knowledge_base,
)
from bot.knowledge.models import (
    UNKNOWN_TEXT,
    Case,
    CaseAnswer,
    Channel,
    ChannelGuide,
    ChannelGuides,
    Document,
    Fee,
    Office,
    Procedure,
    ProcessingTime,
)

__all__ = [
    "UNKNOWN_TEXT",
    "Case",
    "CaseAnswer",
    "Channel",
    "ChannelGuide",
    "ChannelGuides",
    "Document",
    "Fee",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "Office",
    "Procedure",
    "ProcessingTime",
    "get_knowledge_base",
    "load_knowledge_base",
    "load_or_exit",
    "reset_knowledge_base",
]
