"""The staff console web app (Sanic, already in .venv through rasa-sdk; Jinja2 pages rendered on the server).

Everything but /health, /login and the stylesheet needs a signed-in officer. Session cookie: HttpOnly,
SameSite=Strict, Secure when served over https. Every form carries the session's CSRF token (the sign-in form
a double-submit token). Pages are in Vietnamese, plain HTML without JavaScript: labels on every input, visible
focus, high contrast (docs/console.md).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sanic import Request, Sanic, response
from sanic.response import HTTPResponse

from bot.console import auth, queue, review, stats
from bot.db import Database
from bot.subscriptions.protect import RecipientCipher
from bot.subscriptions.senders import Sender

HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "console_session"
LOGIN_COOKIE = "console_login"
HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; img-src 'self'; style-src 'self'; form-action 'self'; "
                                "frame-ancestors 'none'; base-uri 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}
CHARTS = {
    "handoffs": ("Yêu cầu gặp cán bộ mỗi ngày", "Ngày", "Số yêu cầu"),
    "channels": ("Tin nhắn theo kênh", "Số tin nhắn", "Kênh"),
    "unanswered": ("Câu hỏi chưa trả lời được (nhóm nhiều nhất)", "Số lần hỏi", ""),
    "feedback": ("Đánh giá không hữu ích theo thủ tục", "Số đánh giá", "Mã thủ tục"),
}


@dataclass
class ConsoleConfig:
    database: str | Path  # SQLite file or PostgreSQL URL (settings.database_target)
    knowledge_dir: Path
    catalog: Path | None
    cipher: RecipientCipher
    senders: dict[str, Sender] = field(default_factory=dict)
    secure_cookies: bool = False  # also Secure whenever the request came over https
    extra_codes: set[str] = field(default_factory=set)


Handler = Callable[..., Awaitable[HTTPResponse]]


def create_app(config: ConsoleConfig, name: str = "staff_console") -> Sanic:
    from bot.storage import open_database

    app = Sanic(name)
    app.config.REQUEST_MAX_SIZE = 256 * 1024
    app.config.KEEP_ALIVE_TIMEOUT = 5
    conn: Database = open_database(config.database)
    templates = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))

    def page(request: Request, template: str, status: int = 200, **values: Any) -> HTTPResponse:
        session = request.ctx.session if hasattr(request.ctx, "session") else None
        body = templates.get_template(template).render(session=session, path=request.path, **values)
        return response.html(body, status=status, headers=dict(HEADERS))

    def secure(request: Request) -> bool:
        return config.secure_cookies or request.scheme == "https"

    def signed_in(handler: Handler) -> Handler:
        """Nothing reachable without a session; every POST must carry the session's CSRF token."""

        async def wrapped(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
            session = auth.session_for(conn, request.cookies.get(SESSION_COOKIE))
            if session is None:
                return response.redirect("/login", headers=dict(HEADERS))
            request.ctx.session = session
            if request.method == "POST" and not auth.csrf_ok(session, (request.form or {}).get("csrf")):
                return page(request, "error.html", status=403, message="Phiên làm việc không hợp lệ, vui lòng tải lại trang.")
            return await handler(request, *args, **kwargs)

        wrapped.__name__ = handler.__name__
        return wrapped

    @app.get("/health")
    async def health(request: Request) -> HTTPResponse:
        return response.json({"status": "ok"})

    @app.get("/static/console.css")
    async def css(request: Request) -> HTTPResponse:
        return await response.file(HERE / "static" / "console.css", mime_type="text/css; charset=utf-8",
                                   headers={**HEADERS, "Cache-Control": "max-age=300"})

    @app.get("/login")
    async def login_form(request: Request, message: str = "", status: int = 200) -> HTTPResponse:
        token = secrets.token_urlsafe(24)
        answer = page(request, "login.html", status=status, csrf=token, message=message)
        answer.add_cookie(LOGIN_COOKIE, token, httponly=True, samesite="Strict", secure=secure(request), path="/login",
                          max_age=900)
        return answer

    @app.post("/login")
    async def login(request: Request) -> HTTPResponse:
        form = request.form or {}
        given, expected = form.get("csrf") or "", request.cookies.get(LOGIN_COOKIE) or ""
        if not expected or not secrets.compare_digest(given, expected):
            return await login_form(request, "Phiên đăng nhập hết hạn, vui lòng thử lại.", 403)
        name, password = (form.get("username") or "").strip(), form.get("password") or ""
        outcome = auth.check_password(conn, name, password)
        if outcome == "locked":
            return await login_form(request, "Tài khoản tạm khóa vì nhập sai mật khẩu nhiều lần. Vui lòng thử lại sau 15 phút.", 429)
        if outcome != "ok":
            return await login_form(request, "Tên đăng nhập hoặc mật khẩu không đúng.", 401)
        answer = response.redirect("/queue", headers=dict(HEADERS))
        answer.add_cookie(SESSION_COOKIE, auth.start_session(conn, name), httponly=True, samesite="Strict",
                          secure=secure(request), path="/", max_age=auth.SESSION_SECONDS)
        answer.add_cookie(LOGIN_COOKIE, "", httponly=True, samesite="Strict", secure=secure(request), path="/login",
                          max_age=0)
        return answer

    @app.post("/logout")
    @signed_in
    async def logout(request: Request) -> HTTPResponse:
        auth.end_session(conn, request.cookies.get(SESSION_COOKIE))
        answer = response.redirect("/login", headers=dict(HEADERS))
        answer.add_cookie(SESSION_COOKIE, "", httponly=True, samesite="Strict", secure=secure(request), path="/",
                          max_age=0)
        return answer

    @app.get("/")
    @signed_in
    async def home(request: Request) -> HTTPResponse:
        return response.redirect("/queue", headers=dict(HEADERS))

    @app.get("/queue")
    @signed_in
    async def queue_page(request: Request) -> HTTPResponse:
        return page(request, "queue.html", handoffs=queue.open_handoffs(conn), counts=queue.summary(conn))

    @app.get("/handoff/<handoff_id:int>")
    @signed_in
    async def handoff_page(request: Request, handoff_id: int) -> HTTPResponse:
        found = queue.get_handoff(conn, handoff_id)
        if found is None:
            return page(request, "error.html", status=404, message="Không tìm thấy yêu cầu này.")
        return page(request, "handoff.html", handoff=found, message=request.args.get("msg", ""))

    def back_to(handoff_id: int, message: str = "") -> HTTPResponse:
        suffix = "?" + urlencode({"msg": message}) if message else ""
        return response.redirect(f"/handoff/{handoff_id}{suffix}", headers=dict(HEADERS))

    @app.post("/handoff/<handoff_id:int>/take")
    @signed_in
    async def take(request: Request, handoff_id: int) -> HTTPResponse:
        try:
            queue.take(conn, handoff_id, request.ctx.session.user)
        except queue.QueueError as exc:
            return back_to(handoff_id, str(exc))
        return back_to(handoff_id)

    @app.post("/handoff/<handoff_id:int>/reply")
    @signed_in
    async def reply(request: Request, handoff_id: int) -> HTTPResponse:
        text = " ".join(((request.form or {}).get("text") or "").split(" ")).strip()[:2000]
        if not text:
            return back_to(handoff_id, "Vui lòng nhập nội dung trả lời.")
        try:
            error = queue.deliver(conn, handoff_id, text, request.ctx.session.user, config.cipher, config.senders)
        except queue.QueueError as exc:
            return back_to(handoff_id, str(exc))
        return back_to(handoff_id, f"Chưa gửi được: {error}" if error else "Đã gửi.")

    @app.post("/handoff/<handoff_id:int>/handback")
    @signed_in
    async def handback(request: Request, handoff_id: int) -> HTTPResponse:
        try:
            queue.hand_back(conn, handoff_id, request.ctx.session.user, config.cipher, config.senders)
        except queue.QueueError as exc:
            return back_to(handoff_id, str(exc))
        return response.redirect("/queue", headers=dict(HEADERS))

    def period_of(request: Request) -> stats.Period:
        return stats.Period.parse(request.args.get("start"), request.args.get("end"))

    @app.get("/questions")
    @signed_in
    async def questions(request: Request) -> HTTPResponse:
        period = period_of(request)
        query = urlencode({"start": period.start.isoformat(), "end": period.end.isoformat()})
        return page(request, "questions.html", period=period, query=query,
                    groups=stats.unanswered_groups(conn, period)[:50],
                    feedback=stats.feedback_by_procedure(conn, period),
                    channels=stats.messages_per_channel(conn, period),
                    handoffs=sum(n for _d, n in stats.handoffs_per_day(conn, period)),
                    message=request.args.get("msg", ""))

    @app.get("/charts/<name:ext=png>")
    @signed_in
    async def chart(request: Request, name: str, ext: str) -> HTTPResponse:
        from bot.console.charts import bar_chart

        if name not in CHARTS:
            return response.text("not found", status=404)
        period = period_of(request)
        title, xlabel, ylabel = CHARTS[name]
        if name == "handoffs":
            png = bar_chart(stats.handoffs_per_day(conn, period), title, xlabel, ylabel)
        elif name == "channels":
            png = bar_chart(stats.messages_per_channel(conn, period), title, xlabel, ylabel, horizontal=True)
        elif name == "unanswered":
            groups = stats.unanswered_groups(conn, period)[:8]
            png = bar_chart([(g.text[:40], g.count) for g in groups], title, xlabel, ylabel, horizontal=True)
        else:
            rows = stats.feedback_by_procedure(conn, period)[:8]
            png = bar_chart([(str(r["code"]), int(r["unhelpful"])) for r in rows], title, xlabel, ylabel, horizontal=True)
        return response.raw(png, content_type="image/png", headers=dict(HEADERS))

    @app.get("/export.csv")
    @signed_in
    async def export(request: Request) -> HTTPResponse:
        period = period_of(request)
        name = f"tthc-{period.start.isoformat()}-{period.end.isoformat()}.csv"
        return response.text(stats.report_csv(conn, period), content_type="text/csv; charset=utf-8",
                             headers={**HEADERS, "Content-Disposition": f'attachment; filename="{name}"'})

    @app.get("/review")
    @signed_in
    async def review_page(request: Request) -> HTTPResponse:
        return page(request, "review.html", items=review.pending(conn), message=request.args.get("msg", ""),
                    question=request.args.get("q", ""), question_id=request.args.get("qid", ""))

    def to_review(message: str) -> HTTPResponse:
        return response.redirect("/review?" + urlencode({"msg": message}), headers=dict(HEADERS))

    @app.post("/review/propose")
    @signed_in
    async def propose(request: Request) -> HTTPResponse:
        form = request.form or {}
        code = (form.get("code") or "").strip()
        qid = int(form.get("question_id")) if (form.get("question_id") or "").isdigit() else None
        try:
            if form.get("kind") == "draft":
                review.propose_draft(conn, request.ctx.session.user, code, qid, config.catalog)
            else:
                review.propose_alias(conn, request.ctx.session.user, code, form.get("alias") or "", qid,
                                     config.knowledge_dir)
        except review.ReviewError as exc:
            return to_review(str(exc))
        return to_review("Đã gửi đề xuất vào danh sách chờ duyệt.")

    @app.post("/review/<review_id:int>/approve")
    @signed_in
    async def approve(request: Request, review_id: int) -> HTTPResponse:
        content = (request.form or {}).get("content")
        try:
            errors = review.approve(conn, review_id, request.ctx.session.user, config.knowledge_dir,
                                    content.replace("\r\n", "\n") if content else None, config.extra_codes)
        except review.ReviewError as exc:
            return to_review(str(exc))
        if errors:
            return to_review(f"Chưa duyệt được: kiểm tra thấy {len(errors)} lỗi (xem bên dưới).")
        return to_review("Đã duyệt và ghi vào knowledge/. Khởi động lại trợ lý để áp dụng.")

    @app.post("/review/<review_id:int>/reject")
    @signed_in
    async def reject(request: Request, review_id: int) -> HTTPResponse:
        review.reject(conn, review_id, request.ctx.session.user)
        return to_review("Đã từ chối đề xuất.")

    @app.on_response
    async def headers(request: Request, answer: HTTPResponse) -> None:
        for key, value in HEADERS.items():
            answer.headers.setdefault(key, value)

    return app
