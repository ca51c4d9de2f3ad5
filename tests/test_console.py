"""Staff console (issue 17) over real HTTP and a real SQLite file: sign-in, sessions, CSRF, lockout, the queue,
the silence gate, statistics, CSV, charts, knowledge review, and accessibility basics of every page."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from bot.console.hours import VIETNAM, is_open, next_opening, opening_slots, parse_days, parse_ranges, when_text
from bot.processes import ConsoleServer
from bot.settings import PROJECT_ROOT
from bot.storage import open_database

PASSWORD = "mat-khau-rat-dai-1"


def add_user(env: dict[str, str], name: str, password: str = PASSWORD) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", "console", "add-user", name], input=password + "\n",
                          cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60)


def database_env(target: str | Path) -> dict[str, str]:
    """How a process is pointed at the test's database: DATABASE_URL for PostgreSQL, BOT_DATABASE for SQLite."""
    return {"DATABASE_URL": str(target)} if "://" in str(target) else {"BOT_DATABASE": str(target), "DATABASE_URL": ""}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def console(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[tuple[str, str | Path, dict[str, str], Path]]:
    """A console server on a SQLite file, then on a PostgreSQL database."""
    import os

    tmp = tmp_path_factory.mktemp("console")
    knowledge = tmp / "knowledge"
    shutil.copytree(PROJECT_ROOT / "knowledge", knowledge, ignore=shutil.ignore_patterns("drafts"))
    if request.param == "sqlite":
        db: str | Path = tmp / "bot.db"
    else:
        from tests.support.postgres import fresh_database

        db = fresh_database(request.getfixturevalue("postgres_server"))
    env = {**os.environ, **database_env(db), "BOT_KNOWLEDGE_DIR": str(knowledge),
           "BOT_SUBSCRIPTIONS_KEY": "", "PYTHONPATH": str(PROJECT_ROOT)}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    assert add_user(env, "canbo1").returncode == 0
    assert add_user(env, "canbo2").returncode == 0
    with ConsoleServer(env={k: v for k, v in env.items() if k.startswith("BOT_") or k == "DATABASE_URL"}) as server:
        yield server.url, db, env, knowledge
    from bot.db import dispose_all

    dispose_all()


def client(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=20, follow_redirects=False)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def sign_in(url: str, name: str = "canbo1", password: str = PASSWORD) -> httpx.Client:
    browser = client(url)
    form = browser.get("/login")
    answer = browser.post("/login", data={"csrf": csrf_of(form.text), "username": name, "password": password})
    assert answer.status_code == 302 and answer.headers["location"] == "/queue", answer.text[:300]
    return browser


def test_add_user_refuses_a_short_password_and_a_duplicate(console) -> None:
    _url, _db, env, _k = console
    short = add_user(env, "canbo9", "ngan")
    assert short.returncode == 1 and "ít nhất" in short.stderr
    again = add_user(env, "canbo1")
    assert again.returncode == 1 and "đã có" in again.stderr


def test_nothing_is_reachable_without_signing_in(console) -> None:
    url, *_ = console
    browser = client(url)
    for path in ("/", "/queue", "/handoff/1", "/questions", "/charts/handoffs.png", "/export.csv", "/review"):
        answer = browser.get(path)
        assert answer.status_code == 302 and answer.headers["location"] == "/login", path
    for path in ("/handoff/1/take", "/handoff/1/reply", "/review/propose", "/logout"):
        assert browser.post(path, data={"csrf": "x"}).status_code == 302, path
    assert browser.get("/health").status_code == 200


def test_sign_in_sets_a_strict_httponly_cookie_and_csrf_is_enforced(console) -> None:
    url, *_ = console
    without_token = client(url).post("/login", data={"username": "canbo1", "password": PASSWORD})
    assert without_token.status_code == 403
    browser = client(url)
    form = browser.get("/login")
    answer = browser.post("/login", data={"csrf": csrf_of(form.text), "username": "canbo1", "password": PASSWORD})
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("console_session="))
    assert "console_session=" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Secure" not in cookie  # plain http on 127.0.0.1; Secure when served over https
    page = browser.get("/queue")
    assert page.status_code == 200 and "Hàng chờ gặp cán bộ" in page.text
    assert browser.post("/review/propose", data={"kind": "alias", "code": "1.001193", "alias": "x y"}).status_code == 403
    assert browser.post("/logout", data={"csrf": csrf_of(page.text)}).status_code == 302
    assert browser.get("/queue").status_code == 302  # the session is gone on the server too


def test_repeated_wrong_passwords_lock_the_account_in_the_database(console) -> None:
    url, db, env, _k = console
    assert add_user(env, "canbo3").returncode == 0
    browser = client(url)
    codes = []
    for _ in range(5):
        codes.append(browser.post("/login", data={"csrf": csrf_of(browser.get("/login").text),
                                                  "username": "canbo3", "password": "sai-mat-khau-123"}).status_code)
    assert codes == [401, 401, 401, 401, 429]
    right = browser.post("/login", data={"csrf": csrf_of(browser.get("/login").text), "username": "canbo3",
                                         "password": PASSWORD})
    assert right.status_code == 429 and "tạm khóa" in right.text
    locked = open_database(db).execute("SELECT locked_until FROM console_users WHERE name = 'canbo3'").fetchone()[0]
    assert locked > dt.datetime.now().timestamp()


def _handoff(db: str | Path, channel: str = "rest", sender_hash: str = "abc") -> int:
    conn = open_database(db)
    return int(conn.execute(
        "INSERT INTO handoff_requests (created_at, sender_hash, channel, procedure_code, last_messages, step)"
        " VALUES (?, ?, ?, '1.001193', ?, 'bước 2 (online)') RETURNING id",
        (dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), sender_hash, channel,
         '[{"from": "user", "text": "số tôi 0912 345 678"}, {"from": "user", "text": "gặp cán bộ"}]')).fetchone()[0])


@pytest.fixture()
def gate_on(console, monkeypatch) -> Iterator[None]:
    """The gate (which runs in the Rasa server) in this process, on the console's database."""
    from bot.settings import get_settings

    for name, value in database_env(console[1]).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


def test_queue_shows_step_and_masked_transcript_and_take_silences_the_assistant(console, gate_on) -> None:
    url, db, _env, _k = console
    from bot.console import gate
    from bot.privacy import hash_sender

    handoff_id = _handoff(db, "kiosk", hash_sender("kiosk-abcdefgh12"))
    browser = sign_in(url)
    queue = browser.get("/queue").text
    assert f"Yêu cầu {handoff_id}" in queue and "1.001193" in queue and "bước 2 (online)" in queue
    page = browser.get(f"/handoff/{handoff_id}").text
    assert "0912 345 678" not in page and "gặp cán bộ" in page
    assert gate.intercept("kiosk-abcdefgh12", "trước khi nhận", "kiosk") is False  # waiting: the bot still answers
    browser.post(f"/handoff/{handoff_id}/take", data={"csrf": csrf_of(page)})
    assert gate.intercept("kiosk-abcdefgh12", "số tôi 0987654321, cần hỏi thêm", "kiosk") is True
    page = browser.get(f"/handoff/{handoff_id}").text
    assert "cần hỏi thêm" in page and "0987654321" not in page
    browser.post(f"/handoff/{handoff_id}/reply", data={"csrf": csrf_of(page), "text": "Chào anh/chị, tôi là cán bộ."})
    assert gate.pending_officer_messages("kiosk-abcdefgh12") == ["Chào anh/chị, tôi là cán bộ."]
    assert gate.pending_officer_messages("kiosk-abcdefgh12") == []  # shown once
    other = sign_in(url, "canbo2")
    refused = other.post(f"/handoff/{handoff_id}/reply", data={"csrf": csrf_of(other.get('/queue').text), "text": "x"})
    assert "nhận yêu cầu này trước" in httpx.URL(refused.headers["location"]).params["msg"]
    browser.post(f"/handoff/{handoff_id}/handback", data={"csrf": csrf_of(page)})
    assert gate.intercept("kiosk-abcdefgh12", "cảm ơn", "kiosk") is False  # handed back: the assistant answers
    counts = open_database(db).execute("SELECT SUM(count) FROM channel_messages WHERE channel = 'kiosk'").fetchone()
    assert counts[0] == 3


def test_statistics_group_similar_questions_and_export_csv_and_charts(console) -> None:
    url, db, _env, _k = console
    conn = open_database(db)
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    for text in ("xin giấy phép nuôi chim yến", "xin giay phep nuoi chim yen", "giấy phép nuôi chim yến ở đâu",
                 "đăng ký tàu cá"):
        conn.execute("INSERT INTO unanswered_questions (created_at, sender_hash, channel, decision, text)"
                     " VALUES (?, 'h', 'rest', 'unknown', ?)", (now, text))
    conn.execute("INSERT INTO feedback (created_at, sender_hash, channel, procedure_code, helpful, comment)"
                 " VALUES (?, 'h', 'rest', '1.001193', 0, 'khó hiểu')", (now,))
    browser = sign_in(url)
    page = browser.get("/questions").text
    rows = re.findall(r"<tr><td>([^<]+)</td><td>(\d+)</td>", page)
    assert ("xin giấy phép nuôi chim yến", "3") in rows and ("đăng ký tàu cá", "1") in rows
    assert "khó hiểu" in page
    exported = browser.get("/export.csv")
    assert exported.headers["content-type"].startswith("text/csv") and "attachment" in exported.headers["content-disposition"]
    assert "unanswered,xin giấy phép nuôi chim yến,3" in exported.text
    for name in ("handoffs", "channels", "unanswered", "feedback"):
        png = browser.get(f"/charts/{name}.png?start=2026-01-01&end=2026-12-31")
        assert png.status_code == 200 and png.content.startswith(b"\x89PNG"), name


def test_alias_reaches_knowledge_only_after_another_officer_approves_and_the_validator_passes(console) -> None:
    url, _db, _env, knowledge = console
    target = knowledge / "procedures" / "1.001193.yaml"
    before = target.read_text(encoding="utf-8")
    author = sign_in(url)
    page = author.get("/review").text
    author.post("/review/propose", data={"csrf": csrf_of(page), "kind": "alias", "code": "1.001193",
                                         "alias": "làm giấy khai sinh cho bé"})
    assert target.read_text(encoding="utf-8") == before  # proposed only
    page = author.get("/review").text
    review_id = re.findall(r'action="/review/(\d+)/approve"', page)[0]
    self_approval = author.post(f"/review/{review_id}/approve", data={"csrf": csrf_of(page)})
    assert "không tự duyệt" in httpx.URL(self_approval.headers["location"]).params["msg"]
    assert target.read_text(encoding="utf-8") == before
    reviewer = sign_in(url, "canbo2")
    reviewer.post(f"/review/{review_id}/approve", data={"csrf": csrf_of(reviewer.get('/review').text)})
    assert '"làm giấy khai sinh cho bé"' in target.read_text(encoding="utf-8")
    from bot.knowledge.validator import validate_knowledge_dir

    assert validate_knowledge_dir(knowledge).errors == []


def test_an_invalid_draft_never_reaches_knowledge(console) -> None:
    url, db, _env, knowledge = console
    conn = open_database(db)
    review_id = conn.execute("INSERT INTO knowledge_reviews (created_at, author, kind, procedure_code, content)"
                             " VALUES ('2026-01-01', 'canbo1', 'draft', '1.999999', 'code: \"1.999999\"\n')"
                             " RETURNING id").fetchone()[0]
    reviewer = sign_in(url, "canbo2")
    answer = reviewer.post(f"/review/{review_id}/approve", data={"csrf": csrf_of(reviewer.get('/review').text)})
    assert "Chưa duyệt được" in httpx.URL(answer.headers["location"]).params["msg"]
    assert not (knowledge / "procedures" / "1.999999.yaml").exists()
    assert "1.999999.yaml" in reviewer.get("/review").text  # the validator's errors are shown


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.lang = ""
        self.labels: set[str] = set()
        self.fields: list[tuple[str, str]] = []
        self.images_without_alt = 0
        self.tabindex_positive = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang") or ""
        if tag == "label" and a.get("for"):
            self.labels.add(str(a["for"]))
        if tag in ("input", "textarea", "select") and a.get("type") != "hidden":
            self.fields.append((tag, a.get("id") or ""))
        if tag == "img" and not a.get("alt"):
            self.images_without_alt += 1
        if int(a.get("tabindex") or 0) > 0:
            self.tabindex_positive += 1


def _luminance(hex_colour: str) -> float:
    values = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in values]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_pages_are_vietnamese_labelled_keyboard_usable_and_contrasted(console) -> None:
    url, db, _env, _k = console
    handoff_id = _handoff(db)
    browser = sign_in(url)
    pages = {"/login": client(url).get("/login").text}
    for path in ("/queue", f"/handoff/{handoff_id}", "/questions", "/review"):
        pages[path] = browser.get(path).text
    for path, html in pages.items():
        parsed = _Page()
        parsed.feed(html)
        assert parsed.lang == "vi", path
        unlabelled = [f for f in parsed.fields if f[1] not in parsed.labels]
        assert not unlabelled, (path, unlabelled)
        assert parsed.images_without_alt == 0 and parsed.tabindex_positive == 0, path
        assert 'href="#main"' in html and "Bỏ qua" in html, path  # skip link for keyboard users
        assert "<script" not in html, path  # nothing depends on a mouse or on JavaScript
    css = (PROJECT_ROOT / "bot" / "console" / "static" / "console.css").read_text(encoding="utf-8")
    assert ":focus-visible" in css and "outline" in css
    for foreground, background in (("#1a1a1a", "#ffffff"), ("#0b4f8a", "#ffffff"), ("#ffffff", "#0b4f8a"),
                                   ("#ffffff", "#0b3a66"), ("#9b1c1c", "#ffffff"), ("#1a1a1a", "#fff7e6"),
                                   ("#1a1a1a", "#e8f1fb")):
        assert foreground in css.replace("#fff;", "#ffffff;") or foreground == "#ffffff"
        assert contrast(foreground, background) >= 4.5, (foreground, background)


def test_office_hours_from_words() -> None:
    assert parse_days("Thứ Hai đến Thứ Sáu") == {0, 1, 2, 3, 4}
    assert parse_days("Sáng Thứ Bảy") == {5}
    assert parse_ranges("Sáng 8h00–12h00, chiều 13h30–17h00") == [
        (dt.time(8), dt.time(12)), (dt.time(13, 30), dt.time(17))]

    class Entry:
        def __init__(self, days: str, hours: str) -> None:
            self.days, self.hours = days, hours

    slots = opening_slots([Entry("Thứ Hai đến Thứ Sáu", "8h00–12h00, 13h30–17h00"), Entry("Sáng Thứ Bảy", "8h00–12h00")])
    saturday_afternoon = dt.datetime(2026, 12, 5, 15, 0, tzinfo=VIETNAM)
    assert not is_open(slots, saturday_afternoon)
    assert when_text(next_opening(slots, saturday_afternoon)) == "8h00 Thứ Hai, 07/12"
    assert is_open(slots, dt.datetime(2026, 12, 2, 2, 30, tzinfo=dt.timezone.utc))  # 9h30 Wednesday in Vietnam


def test_handoff_reply_says_when_an_officer_answers_outside_office_hours() -> None:
    from actions.handoff import handoff_text

    text = handoff_text(7, now=dt.datetime(2026, 12, 5, 15, 0, tzinfo=VIETNAM))
    assert "(số 7)" in text and "ngoài giờ làm việc" in text and "8h00 Thứ Hai, 07/12" in text
    assert "ngay tại đây" in handoff_text(7, now=dt.datetime(2026, 12, 2, 9, 0, tzinfo=VIETNAM))


def test_a_draft_from_the_national_catalogue_waits_for_review(console, catalog_path) -> None:
    from bot.knowledge.importer import catalog_codes

    url, db, env, knowledge = console
    served = {p.stem for p in (knowledge / "procedures").glob("*.yaml")}
    code = sorted(catalog_codes(catalog_path) - served)[0]
    conn = open_database(db)
    from bot.console.review import ReviewError, propose_draft

    with pytest.raises(ReviewError):
        propose_draft(conn, "canbo1", code, None, None)  # no catalogue configured: said, not crashed
    review_id = propose_draft(conn, "canbo1", code, None, catalog_path)
    row = conn.execute("SELECT kind, status, content FROM knowledge_reviews WHERE id = ?", (review_id,)).fetchone()
    assert row["kind"] == "draft" and row["status"] == "pending" and code in row["content"]
    assert not (knowledge / "procedures" / f"{code}.yaml").exists()  # nothing written before a review
    reviewer = sign_in(url, "canbo2")
    answer = reviewer.post(f"/review/{review_id}/approve", data={"csrf": csrf_of(reviewer.get('/review').text)})
    assert "Chưa duyệt được" in httpx.URL(answer.headers["location"]).params["msg"]  # TODO fields fail validation
    assert not (knowledge / "procedures" / f"{code}.yaml").exists()
