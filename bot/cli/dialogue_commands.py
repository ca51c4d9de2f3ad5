"""`python -m bot eval nlu` (5-fold cross-validation of the Rasa NLU) and `python -m bot bench chat` (REST load).

`eval nlu` runs Rasa's own cross-validation in `.venv-rasa` and reads its intent report, so the
figures are Rasa's; this module only prints them (macro F1 per intent, confusion pairs) and judges
them against the target. `bench chat` drives scripted citizen conversations through the REST channel
of a running stack at several concurrency levels and prints latency percentiles and throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from bot.cli.main import command_group
from bot.settings import PROJECT_ROOT

NLU_TARGET_F1 = 0.92
SUMMARY_KEYS = ("accuracy", "macro avg", "weighted avg", "micro avg")

# Scripted conversations: what citizens type and press (button payloads "/..."), in order. One walks the
# khai sinh guidance with the buttons the bot shows (kiosk, Telegram), one types everything without diacritics,
# one starts off-topic. About a third of the messages are button presses.
CONVERSATIONS: tuple[tuple[str, ...], ...] = (
    (
        "xin chào",
        "con tôi mới sinh cần làm giấy gì",
        "/choose_in_person",
        '/answer_case{"case_answer":"1"}',
        '/answer_case{"case_answer":"1"}',
        "/ask_steps",
        "/next_step",
        "lệ phí bao nhiêu?",
        "/affirm",
        "bước 3",
        "/end_walk",
        "/affirm",
    ),
    ("dang ky ket hon", "lam online", "can giay to gi", "nộp ở đâu?", "mất mấy ngày?", "cảm ơn"),
    ("thời tiết hôm nay thế nào", "đăng ký tạm trú cho người thuê trọ", "/choose_online", "cần mang giấy gì",
     "quay lại", "tạm biệt"),
)


def button_share() -> float:
    """Share of button presses among the scripted messages (printed with the figures)."""
    messages = [m for script in CONVERSATIONS for m in script]
    return sum(m.startswith("/") for m in messages) / len(messages)


# ----- eval nlu ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class IntentScore:
    intent: str
    f1: float
    precision: float
    recall: float
    support: int


def intent_scores(report: dict[str, Any]) -> list[IntentScore]:
    """Per-intent scores from Rasa's `intent_report.json`, worst first."""
    scores = [
        IntentScore(name, float(v["f1-score"]), float(v["precision"]), float(v["recall"]), int(v["support"]))
        for name, v in report.items()
        if name not in SUMMARY_KEYS and isinstance(v, dict) and "f1-score" in v
    ]
    return sorted(scores, key=lambda s: (s.f1, s.intent))


def macro_f1(report: dict[str, Any]) -> float:
    if isinstance(report.get("macro avg"), dict):
        return float(report["macro avg"]["f1-score"])
    scores = intent_scores(report)
    return statistics.fmean(s.f1 for s in scores) if scores else 0.0


def confusion_pairs(report: dict[str, Any]) -> list[tuple[str, str, int]]:
    """(true intent, predicted intent, count) from the report's `confused_with`, most frequent first."""
    pairs = [
        (name, other, int(count))
        for name, v in report.items()
        if isinstance(v, dict)
        for other, count in (v.get("confused_with") or {}).items()
    ]
    return sorted(pairs, key=lambda p: (-p[2], p[0], p[1]))


def format_nlu_report(report: dict[str, Any], target: float = NLU_TARGET_F1, top_pairs: int = 15) -> str:
    lines = [f"{'intent':<22} {'f1':>6} {'prec':>6} {'rec':>6} {'n':>5}"]
    for s in intent_scores(report):
        flag = "  <" if s.f1 < target else ""
        lines.append(f"{s.intent:<22} {s.f1:6.3f} {s.precision:6.3f} {s.recall:6.3f} {s.support:5d}{flag}")
    overall = macro_f1(report)
    verdict = "meets" if overall >= target else "BELOW"
    lines.append(f"macro F1 = {overall:.3f} ({verdict} target {target:.2f})")
    pairs = confusion_pairs(report)
    lines.append("confusion pairs (true -> predicted: count):" if pairs else "confusion pairs: none")
    lines.extend(f"  {t} -> {p}: {n}" for t, p, n in pairs[:top_pairs])
    return "\n".join(lines)


def run_cross_validation(folds: int, out: Path, rasa_bin: Path, config: Path, nlu: Path) -> Path:
    """Runs `rasa test nlu --cross-validation` and returns the path of its intent report."""
    if not rasa_bin.exists():
        raise FileNotFoundError(f"{rasa_bin}: Rasa is not installed (run `make setup`)")
    out.mkdir(parents=True, exist_ok=True)
    command = [
        str(rasa_bin), "test", "nlu", "--nlu", str(nlu), "--config", str(config),
        "--cross-validation", "--folds", str(folds), "--out", str(out),
    ]
    env = {"RASA_TELEMETRY_ENABLED": "false", "PATH": "/usr/bin:/bin"}
    log_path = out / "rasa-test.log"
    print(f"cross-validation: {folds} folds, Rasa output in {log_path}", flush=True)
    with open(log_path, "wb") as log:
        done = subprocess.run(command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        tail = log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-20:]
        raise RuntimeError(f"rasa test nlu failed ({done.returncode}):\n" + "\n".join(tail))
    report = out / "intent_report.json"
    if not report.exists():
        raise FileNotFoundError(f"{report}: Rasa wrote no intent report")
    return report


def _eval_nlu(args: argparse.Namespace) -> int:
    report_path = Path(args.report) if args.report else run_cross_validation(
        args.folds, Path(args.out), Path(args.rasa), Path(args.config), Path(args.nlu)
    )
    report = json.loads(report_path.read_text(encoding="utf-8"))
    print(format_nlu_report(report, args.target))
    return 0 if macro_f1(report) >= args.target or not args.fail_under_target else 1


# ----- bench chat --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BenchResult:
    concurrency: int
    messages: int
    errors: int
    seconds: float
    p50_ms: float
    p95_ms: float

    @property
    def per_second(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        return (
            f"{self.concurrency:>3} citizens: {self.messages} messages in {self.seconds:.1f} s = "
            f"{self.per_second:.1f} msg/s, p50 {self.p50_ms:.0f} ms, p95 {self.p95_ms:.0f} ms, errors {self.errors}"
        )


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sample."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(round(q / 100 * len(ordered) + 0.4999))))
    return ordered[rank - 1]


async def _citizen(client: Any, url: str, script: Sequence[str], latencies: list[float], errors: list[str]) -> None:
    sender = f"bench-{uuid.uuid4().hex[:12]}"
    for text in script:
        started = time.perf_counter()
        try:
            response = await client.post(url, json={"sender": sender, "message": text})
            response.raise_for_status()
            if not response.json():
                raise ValueError(f"empty reply to {text!r}")
        except Exception as exc:  # counted and reported, the run goes on
            errors.append(f"{type(exc).__name__}: {exc}")
            continue
        latencies.append(time.perf_counter() - started)


async def run_level(url: str, concurrency: int, messages: int, timeout: float = 30.0) -> BenchResult:
    """`concurrency` citizens in parallel, each running scripted conversations, until `messages` are sent."""
    import httpx

    endpoint = url.rstrip("/") + "/webhooks/rest/webhook"
    latencies: list[float] = []
    errors: list[str] = []
    scripts = [CONVERSATIONS[i % len(CONVERSATIONS)] for i in range(10_000)]
    next_script = iter(scripts)
    # A new connection per message, as citizens' messages arrive: their pauses outlast the server's 5-s keep-alive,
    # and a reverse proxy in front opens one upstream connection per request. It also lets a free Rasa worker take
    # each message (a kept-alive connection stays with the worker that accepted it, however busy).
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=0)

    async with httpx.AsyncClient(timeout=timeout, limits=limits) as client:

        async def worker() -> None:
            while len(latencies) + len(errors) < messages:
                await _citizen(client, endpoint, next(next_script), latencies, errors)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    if not latencies:
        raise RuntimeError(f"no successful message at concurrency {concurrency}: {errors[:3]}")
    return BenchResult(
        concurrency=concurrency,
        messages=len(latencies),
        errors=len(errors),
        seconds=seconds,
        p50_ms=percentile(latencies, 50) * 1000,
        p95_ms=percentile(latencies, 95) * 1000,
    )


def _run_levels(url: str, levels: list[int], messages: int, warmup: int) -> bool:
    print(f"bench chat against {url} (warm-up {warmup} messages; {button_share():.0%} of scripted messages are "
          "button presses)", flush=True)
    asyncio.run(run_level(url, 1, warmup))
    ok = True
    for level in levels:
        result = asyncio.run(run_level(url, level, messages or max(60, 15 * level)))
        print(result.line(), flush=True)
        ok = ok and result.errors == 0
    return ok


def _bench_chat(args: argparse.Namespace) -> int:
    try:
        levels = [int(x) for x in str(args.concurrency).split(",") if x.strip()]
    except ValueError:
        levels = []
    if not levels or any(level < 1 for level in levels):
        print("error: --concurrency needs positive integers, e.g. 1,20", file=sys.stderr)
        return 2
    if args.url:
        return 0 if _run_levels(args.url, levels, args.messages, args.warmup) else 1
    # No URL: start a private stack on free ports (action server + Rasa), scratch database and index.
    import tempfile

    from bot.processes import ActionServer, RasaServer, RedisServer, StackError, rasa_scaling

    model = Path(args.model)
    if not model.exists():
        print(f"error: {model}: no trained model (run `make train`)", file=sys.stderr)
        return 2

    try:
        scaling = rasa_scaling(args.workers)
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"stack: {scaling.note}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-chat-") as tmp, contextlib.ExitStack() as stack:
        env = {"BOT_DATABASE": str(Path(tmp) / "bot.db")}
        redis = stack.enter_context(RedisServer(scaling.redis_binary)) if scaling.redis_binary else None
        actions = stack.enter_context(ActionServer(env=env))
        rasa = stack.enter_context(RasaServer(model=model, actions_url=actions.webhook_url, workers=scaling.workers,
                                              redis_port=redis.port if redis else None))
        ok = _run_levels(rasa.url, levels, args.messages, args.warmup)
    return 0 if ok else 1


def _sync_office(args: argparse.Namespace) -> int:
    from bot.guidance.domain_sync import DomainSyncError, load_office, sync_domain
    from bot.settings import get_settings

    knowledge_dir = Path(args.knowledge_dir) if args.knowledge_dir else get_settings().knowledge_dir
    try:
        changed = sync_domain(Path(args.domain), load_office(knowledge_dir))
    except DomainSyncError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{args.domain}: utter_service_down {'updated' if changed else 'already in sync'} from {knowledge_dir}/office.yml")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    evals = command_group(subparsers, "eval", "evaluations")
    nlu = evals.add_parser("nlu", help="5-fold cross-validation of the NLU: macro F1 per intent, confusion pairs")
    nlu.add_argument("--folds", type=int, default=5)
    nlu.add_argument("--out", default=str(PROJECT_ROOT / "var" / "eval" / "nlu"))
    nlu.add_argument("--rasa", default=str(PROJECT_ROOT / ".venv-rasa" / "bin" / "rasa"))
    nlu.add_argument("--config", default=str(PROJECT_ROOT / "config.yml"))
    nlu.add_argument("--nlu", default=str(PROJECT_ROOT / "data" / "nlu"))
    nlu.add_argument("--report", help="print an existing intent_report.json instead of running the evaluation")
    nlu.add_argument("--target", type=float, default=NLU_TARGET_F1)
    nlu.add_argument("--fail-under-target", action="store_true", help="exit 1 when macro F1 is below the target")
    nlu.set_defaults(handler=_eval_nlu)

    bench = command_group(subparsers, "bench", "benchmarks")
    chat = bench.add_parser("chat", help="scripted conversations through the REST channel: p50/p95, msg/s")
    chat.add_argument("--url", default=None, help="base URL of a running Rasa server (default: start a private stack)")
    chat.add_argument("--model", default=str(PROJECT_ROOT / "models" / "tthc.tar.gz"), help="model for the private stack")
    chat.add_argument("--concurrency", default="1,20", help="comma-separated numbers of parallel citizens")
    chat.add_argument("--workers", default=os.environ.get("RASA_WORKERS"),
                      help="Rasa worker processes: auto | N (default: $RASA_WORKERS, then settings.yml)")
    chat.add_argument("--messages", type=int, default=0, help="messages per level (default: max(60, 15 x citizens))")
    chat.add_argument("--warmup", type=int, default=10)
    chat.set_defaults(handler=_bench_chat)

    dialogue = command_group(subparsers, "dialogue", "Rasa dialogue data maintenance")
    sync = dialogue.add_parser("sync-office", help="write office.yml's phone/hours into domain.yml's utter_service_down")
    sync.add_argument("--domain", default=str(PROJECT_ROOT / "domain.yml"))
    sync.add_argument("--knowledge-dir", default=None)
    sync.set_defaults(handler=_sync_office)
