"""deploy/compose/haproxy.cfg, run for real: Debian's haproxy with the compose file's configuration, the replicas'
host names pointed at local stub servers. Checks what docs/channels.md asks of the public entry (only the Telegram
and Zalo webhooks by POST and the kiosk from the ward's range; never REST or the Rasa HTTP API) and that a dead
replica's requests go to the other one."""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from bot.processes import free_port, port_in_use
from bot.settings import PROJECT_ROOT
from tests.support.requirements import missing

CONFIG = PROJECT_ROOT / "deploy" / "compose" / "haproxy.cfg"


class _Stub(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = f"{self.server.name} {self.command} {self.path}".encode()  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


def _stub(name: str) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    server.name = name  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def balancer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    binary = shutil.which("haproxy")
    if binary is None:
        missing("haproxy not installed (apt-get install haproxy)")
    stubs = {name: _stub(name) for name in ("rasa-1", "rasa-2", "actions-1", "actions-2")}
    public, actions = free_port(), free_port()
    text = CONFIG.read_text(encoding="utf-8")
    for name, server in stubs.items():
        text, count = re.subn(rf"\b{name}:\d+", f"127.0.0.1:{server.server_address[1]}", text)
        assert count == 1, name
    text = text.replace("bind :8080", f"bind 127.0.0.1:{public}").replace("bind :5055", f"bind 127.0.0.1:{actions}")
    config = tmp_path_factory.mktemp("haproxy") / "haproxy.cfg"
    config.write_text(text, encoding="utf-8")
    check = subprocess.run([binary, "-c", "-f", str(CONFIG)], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr  # the file as shipped, not only the local copy
    process = subprocess.Popen([binary, "-db", "-f", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while not (port_in_use(public) and port_in_use(actions)):
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        assert time.monotonic() < deadline, "haproxy did not listen"
        time.sleep(0.1)
    try:
        yield {"public": f"http://127.0.0.1:{public}", "actions": f"http://127.0.0.1:{actions}", "stubs": stubs}
    finally:
        process.terminate()
        process.wait(timeout=10)
        for server in stubs.values():
            server.shutdown()
            server.server_close()


def test_public_entry_forwards_only_the_webhooks_and_the_kiosk(balancer: dict[str, object]) -> None:
    url = balancer["public"]
    with httpx.Client(base_url=str(url), timeout=10) as client:
        for path in ("/webhooks/telegram/webhook", "/webhooks/zalo/webhook"):
            response = client.post(path, json={"update_id": 1})
            assert response.status_code == 200 and response.text.split()[0].startswith("rasa-"), path
            assert client.get(path).status_code == 405, path
        kiosk = client.get("/webhooks/kiosk/")  # 127.0.0.1 is in the ward's range of the shipped file
        assert kiosk.status_code == 200 and kiosk.text.endswith("GET /webhooks/kiosk/")
        for path in ("/webhooks/rest/webhook", "/webhooks/", "/status", "/conversations/x/tracker", "/model",
                     "/webhooks/registry/events", "/", "/webhooks/telegram/webhook/../../status"):
            assert client.post(path, json={}).status_code in {403, 404}, path
            assert client.get(path).status_code in {403, 404}, path


def test_both_rasa_replicas_serve_and_a_dead_one_is_skipped(balancer: dict[str, object]) -> None:
    url = f"{balancer['public']}/webhooks/telegram/webhook"
    seen = {httpx.post(url, json={}, timeout=10).text.split()[0] for _ in range(6)}
    assert seen == {"rasa-1", "rasa-2"}
    stubs = balancer["stubs"]
    assert isinstance(stubs, dict)
    stubs["rasa-1"].shutdown()
    stubs["rasa-1"].server_close()  # connections to rasa-1 are now refused
    answers = [httpx.post(url, json={}, timeout=10) for _ in range(6)]
    assert all(a.status_code == 200 and a.text.startswith("rasa-2") for a in answers), [a.status_code for a in answers]


def test_actions_balancer_is_reachable_and_spreads(balancer: dict[str, object]) -> None:
    seen = {httpx.post(f"{balancer['actions']}/webhook", json={}, timeout=10).text.split()[0] for _ in range(6)}
    assert seen == {"actions-1", "actions-2"}
