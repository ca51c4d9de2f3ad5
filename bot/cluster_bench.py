"""`make bench-cluster`: citizens walk a procedure through the balancer while replicas are killed and restarted.

Each citizen opens a walk with the opening of bench-chat's first script (khai sinh, in person, two answers,
"/ask_steps") and then moves through the steps with the buttons (/next_step, /previous_step) and a side question
("lệ phí bao nhiêu?" -> "Tiếp tục từ bước k?" -> /affirm). Every reply is checked against the walk's state: the
reply to /next_step at step k must be "Bước k+1/". After a few step turns the citizen leaves the conversation
mid-walk and opens another one.

Mid-run one Rasa replica and one action-server replica are SIGKILLed and restarted on the same ports. When the
load phase ends, every conversation is continued once more ("resumed" = the reply is the step its state calls
for), and every stored tracker is read back through Rasa's HTTP API: a message answered 200 whose user turn is
not in the tracker is a lost event. The last line printed is one JSON object.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import signal
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from bot.cli.dialogue_commands import CONVERSATIONS, percentile
from bot.cluster import Cluster
from bot.processes import ServerProcess, port_in_use

STEP = re.compile(r"Bước (\d+)/(\d+)")
RESUME = re.compile(r"Tiếp tục từ bước (\d+)\?")
OPENING = CONVERSATIONS[0][1:CONVERSATIONS[0].index("/ask_steps") + 1]  # bench-chat's khai sinh walk, to step 1
SIDE_QUESTION = "lệ phí bao nhiêu?"
STEP_TURNS = 8  # step-phase messages per conversation before the citizen opens a new one


@dataclass
class Walk:
    """One conversation and what the bench knows of its state."""

    sender: str
    step: int = 0  # current step (1-based); 0 = not in the steps yet
    steps: int = 0  # steps of the procedure (from "Bước k/N")
    asked: bool = False  # a side question is on screen: "Tiếp tục từ bước k?"
    unsure: bool = False  # the last message failed: the next reply re-reads the step instead of checking it
    answered: Counter = field(default_factory=Counter)  # user texts answered 200
    resumed: bool | None = None


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: list[tuple[float, str]] = field(default_factory=list)  # (time since start, what)
    wrong: list[str] = field(default_factory=list)
    abandoned: int = 0


def _text(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


class Bench:
    def __init__(self, cluster: Cluster, citizens: int, seconds: float, kill_after: float, timeout: float = 90.0):
        self.cluster = cluster
        self.citizens = citizens
        self.seconds = seconds
        self.kill_after = kill_after
        self.timeout = timeout
        self.walks: list[Walk] = []
        self.tally = Tally()
        self.started = 0.0
        self.kill_window: list[float] = []  # [killed at, every replica back up at], seconds since start
        self.restart_error: str | None = None
        self.killed: list[str] = []

    # ----- one message ------------------------------------------------------------------------------------
    async def send(self, client: httpx.AsyncClient, walk: Walk, text: str, measure: bool = True) -> str | None:
        began = time.perf_counter()
        try:
            response = await client.post(f"{self.cluster.url}/webhooks/rest/webhook",
                                         json={"sender": walk.sender, "message": text})
            response.raise_for_status()
            messages = response.json()
            if not messages:
                raise ValueError(f"empty reply to {text!r}")
        except Exception as exc:  # counted with its time: errors must fall in the kill window
            self.tally.errors.append((time.monotonic() - self.started, f"{type(exc).__name__}: {exc}"[:200]))
            walk.unsure = True
            return None
        if measure:
            self.tally.latencies.append(time.perf_counter() - began)
        walk.answered[text] += 1
        return _text(messages)

    def check_step(self, walk: Walk, reply: str, expected: int, what: str) -> bool:
        """Move the walk to the step in `reply`; a step other than `expected` is a wrong reply (unless unsure)."""
        found = STEP.search(reply)
        if found is None:
            if not walk.unsure:
                self.tally.wrong.append(f"{what}: expected Bước {expected}, got {reply[:80]!r}")
            return False
        walk.step, walk.steps = int(found.group(1)), int(found.group(2))
        ok = walk.step == expected
        if not ok and not walk.unsure:
            self.tally.wrong.append(f"{what}: expected Bước {expected}, got Bước {walk.step}")
        walk.unsure = False
        return ok

    # ----- a citizen --------------------------------------------------------------------------------------
    async def open_walk(self, client: httpx.AsyncClient) -> Walk | None:
        walk = Walk(sender=f"cluster-{uuid.uuid4().hex[:12]}")
        reply = None
        for text in OPENING:
            reply = await self.send(client, walk, text)
            if reply is None:
                break
        if reply is None or not STEP.search(reply):
            # an opening cut by an error or answered off the walk: counted as a conversation not resumed
            self.tally.abandoned += 1
            self.tally.wrong.append(f"opening {walk.sender} ended with {(reply or 'an error')[:160]!r}")
            return None
        self.check_step(walk, reply, 1, "opening")
        self.walks.append(walk)
        return walk

    async def step_turn(self, client: httpx.AsyncClient, walk: Walk, rng: random.Random) -> None:
        if walk.asked:
            reply = await self.send(client, walk, "/affirm")
            if reply is not None:
                walk.asked = False
                self.check_step(walk, reply, walk.step, "affirm")
            return
        roll = rng.random()
        if roll < 0.15 and not walk.unsure:
            reply = await self.send(client, walk, SIDE_QUESTION)
            if reply is not None:
                found = RESUME.search(reply)
                walk.asked = found is not None
                if found is None or int(found.group(1)) != walk.step:
                    self.tally.wrong.append(f"side question at step {walk.step}: {reply[-80:]!r}")
            return
        if walk.step > 1 and (roll < 0.35 or walk.step >= walk.steps - 1):
            reply = await self.send(client, walk, "/previous_step")
            if reply is not None:
                self.check_step(walk, reply, walk.step - 1, "previous_step")
            return
        reply = await self.send(client, walk, "/next_step")
        if reply is not None:
            self.check_step(walk, reply, walk.step + 1, "next_step")

    async def citizen(self, client: httpx.AsyncClient, number: int, deadline: "_Deadline") -> None:
        rng = random.Random(number)
        while not deadline.passed():
            walk = await self.open_walk(client)
            if walk is None:
                continue
            for _ in range(STEP_TURNS):
                if deadline.passed() and not walk.asked:
                    break
                await self.step_turn(client, walk, rng)
            for _ in range(30):  # leave the conversation at a step the bench knows
                if not walk.unsure:
                    break
                await self.resync(client, walk)

    async def resync(self, client: httpx.AsyncClient, walk: Walk) -> None:
        """After a failed message: the walk's step from the reply to an explicit "bước k" (idempotent)."""
        await asyncio.sleep(1.0)
        target = max(1, walk.step)
        reply = await self.send(client, walk, f"bước {target}")
        if reply is not None:
            walk.asked = False
            self.check_step(walk, reply, target, "resync")  # clears `unsure` once the reply names a step

    # ----- after the load: continue every conversation, read every tracker ---------------------------------
    async def resume(self, client: httpx.AsyncClient, walk: Walk) -> None:
        if walk.asked:
            text, expected = "/affirm", walk.step
        elif walk.step < walk.steps:
            text, expected = "/next_step", walk.step + 1
        else:
            text, expected = "/previous_step", walk.step - 1
        reply = await self.send(client, walk, text, measure=False)
        found = STEP.search(reply or "")
        walk.resumed = found is not None and int(found.group(1)) == expected
        if not walk.resumed:
            self.tally.wrong.append(f"resume {walk.sender} {text} at step {walk.step}/{walk.steps} (asked="
                                    f"{walk.asked}): expected Bước {expected}, got {(reply or '')[:100]!r}")

    async def lost_events(self, client: httpx.AsyncClient, walk: Walk) -> int:
        response = await client.get(f"{self.cluster.url}/conversations/{walk.sender}/tracker")
        response.raise_for_status()
        stored = Counter(e.get("text") for e in response.json().get("events", []) if e.get("event") == "user")
        return sum(max(0, count - stored[text]) for text, count in walk.answered.items())

    # ----- the fault ---------------------------------------------------------------------------------------
    def kill_and_restart(self) -> None:
        """SIGKILL one Rasa and one action-server replica, start them again on the same ports (in a thread)."""
        victims: list[ServerProcess] = [self.cluster.rasa[0], self.cluster.actions[0]]
        self.kill_window = [time.monotonic() - self.started]
        for server in victims:
            assert server.process is not None
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait(timeout=10)
            server.stop()  # closes its log
            self.killed.append(server.name)
        for server in victims:  # the killed group's last processes can hold the port a moment longer
            give_up = time.monotonic() + 15
            while port_in_use(server.port) and time.monotonic() < give_up:
                time.sleep(0.2)
        try:
            for server in victims:
                server.start()
            for server in victims:
                server.wait_healthy()
            self.cluster.wait_balanced()
        except Exception as exc:  # reported in the JSON line; the bench still ends and stops everything
            self.restart_error = f"{type(exc).__name__}: {str(exc)[:300]}"
        self.kill_window.append(time.monotonic() - self.started)

    async def run(self) -> dict[str, Any]:
        limits = httpx.Limits(max_connections=self.citizens * 2, max_keepalive_connections=0)
        finished = threading.Event()
        async with httpx.AsyncClient(timeout=self.timeout, limits=limits) as client:
            self.started = time.monotonic()
            deadline = _Deadline(self.started + self.seconds)
            killer = threading.Thread(target=self._kill_later, args=(deadline, finished), daemon=True)
            killer.start()
            try:
                await asyncio.gather(*(self.citizen(client, n, deadline) for n in range(self.citizens)))
                load_seconds = time.monotonic() - self.started
                load_messages = len(self.tally.latencies)
                semaphore = asyncio.Semaphore(self.citizens)

                async def bounded(job: Any) -> Any:
                    async with semaphore:
                        return await job

                await asyncio.gather(*(bounded(self.resume(client, walk)) for walk in self.walks))
                lost = await asyncio.gather(*(bounded(self.lost_events(client, walk)) for walk in self.walks))
            finally:
                finished.set()
                killer.join()
        return self.summary(load_messages, load_seconds, sum(lost))

    def _kill_later(self, deadline: "_Deadline", finished: threading.Event) -> None:
        """The fault; the load goes on at least 15 s with every replica back, so the restarted ones take a share.

        The thread lives until the bench is over: the restarted servers ask to die with the thread that started
        them (PR_SET_PDEATHSIG follows the creating thread, not the process).
        """
        if finished.wait(self.kill_after):
            return
        deadline.hold()
        try:
            self.kill_and_restart()
        finally:
            deadline.extend_to(time.monotonic() + 15)
        finished.wait()

    def summary(self, load_messages: int, load_seconds: float, lost: int) -> dict[str, Any]:
        start, end = (self.kill_window + [float("nan"), float("nan")])[:2]
        outside = [e for e in self.tally.errors if not start <= e[0] <= end]
        total = load_messages + len(self.tally.errors)
        return {
            "conversations": len(self.walks) + self.tally.abandoned,
            "messages": load_messages,
            "errors": len(self.tally.errors),
            "errors_outside_kill_window": len(outside),
            "error_share": round(len(self.tally.errors) / total, 4) if total else None,
            "lost_events": lost,
            "resumed": sum(1 for w in self.walks if w.resumed),
            "wrong_replies": len(self.tally.wrong),
            "abandoned_openings": self.tally.abandoned,
            "p50_ms": round(percentile(self.tally.latencies, 50) * 1000) if self.tally.latencies else None,
            "p95_ms": round(percentile(self.tally.latencies, 95) * 1000) if self.tally.latencies else None,
            "msg_per_s": round(load_messages / load_seconds, 1) if load_seconds else None,
            "load_seconds": round(load_seconds, 1),
            "citizens": self.citizens,
            "killed": self.killed,
            "kill_window_s": [round(start, 1), round(end, 1)],
            "restart_error": self.restart_error,
            "load_average": [round(x, 2) for x in os.getloadavg()],
        }


class _Deadline:
    """End of the load phase; held by the fault thread until the killed replicas are back, then moved later."""

    def __init__(self, at: float):
        self._at = at
        self._held = False
        self._lock = threading.Lock()

    def passed(self) -> bool:
        with self._lock:
            return not self._held and time.monotonic() >= self._at

    def hold(self) -> None:
        with self._lock:
            self._held = True

    def extend_to(self, at: float) -> None:
        with self._lock:
            self._held = False
            self._at = max(self._at, at)


def verdict(result: dict[str, Any]) -> list[str]:
    """What misses the targets (empty: all met)."""
    problems = []
    if result["lost_events"]:
        problems.append(f"{result['lost_events']} lost events")
    if result["resumed"] != result["conversations"]:
        problems.append(f"{result['conversations'] - result['resumed']} conversations not resumed at the right step")
    if result["errors_outside_kill_window"]:
        problems.append(f"{result['errors_outside_kill_window']} errors outside the kill window")
    if result["error_share"] and result["error_share"] >= 0.01:
        problems.append(f"errors are {result['error_share']:.1%} of messages (target < 1 %)")
    if result["restart_error"]:
        problems.append(f"restart failed: {result['restart_error']}")
    return problems


def print_result(result: dict[str, Any], errors: list[tuple[float, str]], wrong: list[str]) -> None:
    for at, what in errors[:10]:
        print(f"  error at {at:.1f} s: {what}", flush=True)
    for what in wrong[:10]:
        print(f"  wrong reply: {what}", flush=True)
    problems = verdict(result)
    print("targets met" if not problems else "targets missed: " + "; ".join(problems), flush=True)
    print(json.dumps(result, ensure_ascii=False), flush=True)
