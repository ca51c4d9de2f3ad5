"""The two places the guidance walk calls into the services (kept here so walk.py changes by a few lines):
an old ward named in a "where" question, and the VNeID offer under the first online step.

The services knowledge is read from the walk's own knowledge folder; a folder without `services/`
(e.g. a test fixture) simply has no such answers.
"""

from __future__ import annotations

import threading
from pathlib import Path

from bot.guidance.messages import Reply
from bot.knowledge import KnowledgeBase
from bot.services.loader import load_services
from bot.services.models import Services

_LOCK = threading.Lock()
_CACHE: dict[Path | None, Services] = {}


def services_for(kb: KnowledgeBase) -> Services:
    """The services of the knowledge base's folder, loaded once (validated with it by the loader)."""
    key = kb.knowledge_dir
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = load_services(key) if key is not None else Services()
        return _CACHE[key]


def old_ward_replies(kb: KnowledgeBase, text: str) -> list[Reply]:
    """"Nhà tôi ở phường Cửa Nam cũ thì nộp ở đâu": which ward now handles it; [] when no old ward is named.

    Strict: the name must follow a unit word ("phường", "xã") or precede "cũ", so ordinary "ở đâu"
    questions keep their usual answer.
    """
    from bot.services.wards import find_in_text, ward_replies

    if not text or text.startswith("/") or not find_in_text(text, kb.office.province, strict=True):
        return []
    return ward_replies(text, kb.office, services_for(kb))


def online_offer(kb: KnowledgeBase) -> list[Reply]:
    """Under the first online step: buttons for citizens without a VNeID account or password."""
    from bot.services.vneid import offer

    reply = offer(services_for(kb))
    return [reply] if reply is not None else []
