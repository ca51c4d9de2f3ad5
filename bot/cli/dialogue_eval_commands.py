"""`python -m bot eval dialogue`: typed multi-turn conversations (tests/data/dialogues) through the guidance
code and, for the ones marked `live`, through the live REST stack; prints per-turn and per-conversation success.

Starts its own stack on free ports (action server + one Rasa worker, scratch database) with the default
settings; the held-out file's failures are listed only with --show-heldout (so nobody tunes on them).
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path

from bot.cli.main import command_group
from bot.settings import PROJECT_ROOT

DEFAULT_DIR = PROJECT_ROOT / "tests" / "data" / "dialogues"


def register(subparsers: argparse._SubParsersAction) -> None:
    evals = command_group(subparsers, "eval", "measure quality")
    parser = evals.add_parser("dialogue", help="typed conversations through the walk and the live REST stack")
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="folder of dialogue *.yml files")
    parser.add_argument("--model", default=str(PROJECT_ROOT / "models" / "tthc.tar.gz"))
    parser.add_argument("--no-live", action="store_true", help="skip the REST run")
    parser.add_argument("--parse-url", help="with --no-live: a running Rasa server (--enable-api) to classify with")
    parser.add_argument("--show-heldout", action="store_true", help="also list the held-out failures")
    parser.add_argument("--only", help="run only conversations whose id contains this")
    parser.add_argument("--report", type=Path, help="write figures and failures as JSON here")
    parser.set_defaults(handler=_run)


def _print_figures(label: str, figures: dict) -> None:
    print(
        f"{label:<28} turns {figures['turns_ok']:>4}/{figures['turns']:<4} = {figures['turn_rate']:.3f}   "
        f"conversations {figures['conversations_ok']:>3}/{figures['conversations']:<3} = {figures['conversation_rate']:.3f}",
        flush=True,
    )


def _run(args: argparse.Namespace) -> int:
    import contextlib
    import tempfile

    import httpx
    import yaml

    from actions.guidance import get_guide
    from bot.guidance.dialogue_eval import (
        DialogueSetError, Tally, load_dialogues, run_live, run_through_guide, walk_intents_from_rules,
    )
    from bot.processes import ActionServer, RasaServer

    try:
        dialogues = load_dialogues(Path(args.dir).glob("*.yml"))
    except DialogueSetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.only:
        dialogues = [d for d in dialogues if args.only in d.id]
    model = Path(args.model)
    if not model.exists():
        print(f"error: {model}: no trained model (run `make train`)", file=sys.stderr)
        return 2
    walk_intents = walk_intents_from_rules(PROJECT_ROOT / "data" / "rules")
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    start_over_text = domain["responses"]["utter_start_over"][0]["text"]
    guide = get_guide()
    tallies: dict[str, Tally] = {}
    shown: list[str] = []

    with tempfile.TemporaryDirectory(prefix="eval-dialogue-") as tmp, contextlib.ExitStack() as stack:
        if args.parse_url and args.no_live:
            rasa_url = args.parse_url.rstrip("/")
        else:
            env = {"BOT_DATABASE": str(Path(tmp) / "bot.db")}
            actions = stack.enter_context(ActionServer(env=env))
            server = RasaServer(model=model, actions_url=actions.webhook_url)
            server.startup_timeout = 600.0  # loading the model takes minutes on a busy shared CPU
            rasa_url = stack.enter_context(server).url
        client = stack.enter_context(httpx.Client(timeout=60.0))

        def parse(text: str) -> tuple[str, dict[str, str]]:
            data = client.post(f"{rasa_url}/model/parse", json={"text": text}).raise_for_status().json()
            entities = {e["entity"]: str(e.get("value", "")) for e in data.get("entities") or []}
            return (data.get("intent") or {}).get("name") or "nlu_fallback", entities

        def rest(sender: str, text: str) -> list[dict]:
            response = client.post(f"{rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": text})
            return list(response.raise_for_status().json())

        def slots(sender: str) -> dict:
            tracker = client.get(f"{rasa_url}/conversations/{sender}/tracker").raise_for_status().json()
            return tracker.get("slots") or {}

        for dialogue in dialogues:
            part = "held-out" if dialogue.heldout else "tuning"
            modes = [("walk", lambda d=dialogue: run_through_guide(d, guide, parse, walk_intents, start_over_text))]
            if dialogue.live and not args.no_live:
                sender = f"eval-{uuid.uuid4().hex[:10]}"
                modes.append(("live REST", lambda d=dialogue, s=sender: run_live(d, rest, slots, guide, s)))
            for mode, run in modes:
                results = run()
                tallies.setdefault(f"{part} / {mode}", Tally()).add(results)
                if dialogue.heldout and not args.show_heldout:
                    continue
                for result in results:
                    if not result.ok:
                        shown.append(f"[{mode}] {dialogue.id} #{result.index + 1} {result.say!r}: {'; '.join(result.failures)}")

    for line in shown:
        print(line)
    print()
    report = {}
    for label in sorted(tallies):
        figures = tallies[label].figures()
        report[label] = figures
        _print_figures(label, figures)
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps({"figures": report, "failures": shown}, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0
