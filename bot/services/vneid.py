"""VNeID help: the task the citizen means (activation, password, level 2, documents, children) as steps.

Tasks and their keywords live in `knowledge/services/vneid.yml`; matching is on folded words, so
"quen mat khau vneid" finds the same task as "quên mật khẩu VNeID". No match: a menu of the tasks.
"""

from __future__ import annotations

from typing import Callable

from bot.guidance.messages import Button, Reply, pack_lines, payload
from bot.retrieval.normalize import fold
from bot.services.models import Services, VneidTask

NO_GUIDE = "Tôi chưa có hướng dẫn về VNeID. Anh/chị vui lòng hỏi Công an phường/xã nơi cư trú."


def find_task(services: Services, text: str, task_id: str | None = None) -> VneidTask | None:
    """The task named by a button (`task_id`) or whose keyword appears in the text (longest keyword wins)."""
    if services.vneid is None:
        return None
    if task_id:
        return services.vneid_task(task_id)
    words = f" {fold(text)} "
    best: tuple[int, VneidTask] | None = None
    for task in services.vneid.tasks:
        for keyword in task.keywords:
            folded = fold(keyword)
            if folded and f" {folded} " in words and (best is None or len(folded) > best[0]):
                best = (len(folded), task)
    return best[1] if best else None


def menu(services: Services, intro: str = "Anh/chị cần hướng dẫn việc gì trên VNeID?") -> Reply:
    tasks = services.vneid.tasks if services.vneid else []
    return Reply(intro, [Button(t.title, payload("ask_vneid", vneid_task=t.id)) for t in tasks])


def vneid_replies(services: Services, text: str, task_id: str | None = None,
                  procedure_name: Callable[[str], str | None] = lambda code: None) -> list[Reply]:
    """The task's steps (with a button to its procedure when the knowledge base has it), or the menu."""
    if services.vneid is None:
        return [Reply(NO_GUIDE)]
    task = find_task(services, text, task_id)
    if task is None:
        return [menu(services)]
    lines = [f"{task.title}:"] + [f"{i}. {step}" for i, step in enumerate(task.steps, start=1)]
    caution = " Giao diện ứng dụng có thể thay đổi theo phiên bản; nếu chưa làm được, anh/chị hỏi Công an phường/xã." \
        if task.to_confirm else ""
    lines.append(f"Nguồn: {task.source} (cập nhật {task.verified_on:%d/%m/%Y}).{caution}")
    replies = [Reply(text) for text in pack_lines(lines)]
    name = procedure_name(task.procedure) if task.procedure else None
    if name:  # ask_procedure: during another walk the citizen is asked before switching
        replies[-1].buttons.append(Button(f"Xem thủ tục: {name}"[:40], payload("ask_procedure", procedure_code=task.procedure)))
    return replies


def offer(services: Services) -> Reply | None:
    """Said under the first online step: help for citizens without a VNeID account (None without a guide)."""
    if services.vneid_task("muc_2") is None:
        return None
    return Reply("Nộp trực tuyến cần tài khoản định danh điện tử VNeID mức 2.",
                 [Button("Chưa có tài khoản VNeID", payload("ask_vneid", vneid_task="muc_2")),
                  Button("Quên mật khẩu VNeID", payload("ask_vneid", vneid_task="quen_mat_khau"))])
