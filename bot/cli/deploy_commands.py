"""The two commands behind deploy/ and docs/deployment.md: `python -m bot bench footprint` (CPU and memory per
server process, for sizing) and `python -m bot deploy sync-config` (copies settings.yml and the cluster endpoints
into the Kubernetes ConfigMap)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
from pathlib import Path

from bot.cli.main import command_group
from bot.settings import PROJECT_ROOT

CONFIGMAP = PROJECT_ROOT / "deploy" / "k8s" / "10-configmap.yaml"


def _bench_footprint(args: argparse.Namespace) -> int:
    from bot.cli.dialogue_commands import BenchResult, run_level
    from bot.footprint import ProcessUsage, measure_while
    from bot.processes import ActionServer, ConsoleServer, RasaServer, StackError

    model = Path(args.model)
    if not model.exists():
        print(f"error: {model}: no trained model (run `make train`)", file=sys.stderr)
        return 2
    if args.messages < 1 or args.concurrency < 1:
        print("error: --messages and --concurrency must be at least 1", file=sys.stderr)
        return 2
    results: dict[str, dict[str, float | str]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-footprint-") as tmp, contextlib.ExitStack() as stack:
            env = {"BOT_DATABASE": str(Path(tmp) / "bot.db")}
            actions = stack.enter_context(ActionServer(env=env))
            console = stack.enter_context(ConsoleServer(env=env))
            rasa = stack.enter_context(RasaServer(model=model, actions_url=actions.webhook_url, env=env))
            asyncio.run(run_level(rasa.url, 1, args.warmup))  # first messages load lazy parts (index, NLU caches)
            usages = [ProcessUsage(server.name, server.process.pid) for server in (rasa, actions, console)
                      if server.process is not None]
            outcome: list[BenchResult] = []

            def load() -> None:
                outcome.append(asyncio.run(run_level(rasa.url, args.concurrency, args.messages)))

            seconds = measure_while(usages, load)
            result = outcome[0]
            print(result.line(), flush=True)
            messages = result.messages + result.errors
            for usage in usages:
                row = usage.as_dict(messages, seconds)
                print(f"{row['process']:>15}: RSS {row['rss_idle_mb']} MB idle, {row['rss_peak_mb']} MB peak; "
                      f"{row['cpu_ms_per_msg']} ms CPU per message; {row['cores_busy']} cores busy", flush=True)
                results[str(row["process"])] = row
            summary = {
                "concurrency": args.concurrency,
                "messages": messages,
                "errors": result.errors,
                "msg_per_s": round(result.per_second, 1),
                "p95_ms": round(result.p95_ms),
                "processes": results,
            }
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(summary, ensure_ascii=False))
    return 0 if summary["errors"] == 0 else 1


def _sync_config(args: argparse.Namespace) -> int:
    from bot.deploy_config import SOURCES, synced_configmap

    path = Path(args.configmap)
    current = path.read_text(encoding="utf-8")
    wanted = synced_configmap(current)
    names = ", ".join(str(source.relative_to(PROJECT_ROOT)) for source in SOURCES.values())
    if current == wanted:
        print(f"{path}: in sync with {names}")
        return 0
    if args.check:
        print(f"{path}: differs from {names}; run `python -m bot deploy sync-config`", file=sys.stderr)
        return 1
    path.write_text(wanted, encoding="utf-8")
    print(f"{path}: copied {names}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    bench = command_group(subparsers, "bench", "benchmarks")
    footprint = bench.add_parser(
        "footprint", help="CPU ms per message and memory of the Rasa server, action server and console under load"
    )
    footprint.add_argument("--model", default=str(PROJECT_ROOT / "models" / "tthc.tar.gz"))
    footprint.add_argument("--concurrency", type=int, default=20, help="parallel citizens")
    footprint.add_argument("--messages", type=int, default=400)
    footprint.add_argument("--warmup", type=int, default=20)
    footprint.set_defaults(handler=_bench_footprint)

    deploy = command_group(subparsers, "deploy", "deployment files (deploy/)")
    sync = deploy.add_parser(
        "sync-config", help="copy settings.yml and deploy/endpoints.cluster.yml into the Kubernetes ConfigMap"
    )
    sync.add_argument("--configmap", default=str(CONFIGMAP))
    sync.add_argument("--check", action="store_true", help="only tell whether it is in sync (exit 1 if not)")
    sync.set_defaults(handler=_sync_config)
