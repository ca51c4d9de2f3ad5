"""`python -m bot run`: start the action server and the Rasa server, wait until healthy, stop both cleanly.

`make run` prepares everything (environments, training, index) and then execs this runner. It stops both
servers on Ctrl-C, on SIGTERM, when one server dies, and when its parent (make) goes away, so no server is
left listening.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from bot.settings import PROJECT_ROOT

if TYPE_CHECKING:
    from bot.deployment import Deployment
    from bot.processes import ServerProcess


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("run", help="start the action server and the Rasa server (used by `make run`)")
    parser.add_argument("--rasa-port", type=int, default=int(os.environ.get("RASA_PORT", "5005")))
    parser.add_argument("--actions-port", type=int, default=int(os.environ.get("ACTIONS_PORT", "5055")))
    parser.add_argument("--console-port", type=int, default=int(os.environ.get("CONSOLE_PORT", "5077")))
    parser.add_argument("--model", default=os.environ.get("RASA_MODEL", str(PROJECT_ROOT / "models" / "tthc.tar.gz")))
    parser.add_argument("--credentials", default=str(PROJECT_ROOT / "credentials.yml"))
    parser.add_argument("--endpoints", default=str(PROJECT_ROOT / "endpoints.yml"))
    parser.add_argument("--log-dir", default=str(PROJECT_ROOT / "var" / "log"))
    parser.add_argument("--workers", default=os.environ.get("RASA_WORKERS"),
                        help="Rasa worker processes: auto | N (default: settings.yml server.workers)")
    parser.add_argument("--profile", choices=("single", "cluster"), default="single",
                        help="single: one Rasa server and one action server (make run); cluster: PostgreSQL, Redis, "
                             "replicas behind HAProxy (make run-cluster; settings.yml cluster:)")
    parser.add_argument("--var-dir", default=None,
                        help="cluster: folder of its database, logs and generated files (default: settings.yml "
                             "cluster.var_dir, var/cluster); kept across restarts")
    parser.add_argument("--rasa-replicas", type=int, default=None, help="cluster: default settings.yml cluster")
    parser.add_argument("--action-replicas", type=int, default=None, help="cluster: default settings.yml cluster")
    parser.set_defaults(handler=run_stack)
    register_more(subparsers)


class _Stop(Exception):
    pass


def _raise_stop(signum: int, _frame: object) -> None:
    raise _Stop(signal.Signals(signum).name)


def run_stack(args: argparse.Namespace) -> int:
    if getattr(args, "profile", "single") == "cluster":
        return run_cluster(args)
    from bot.deployment import API_TOKEN_ENV, describe, secret
    from bot.processes import ActionServer, ConsoleServer, RasaServer, RedisServer, StackError, rasa_scaling

    log_dir = Path(args.log_dir)
    model = Path(args.model)
    deployment = _deployment_that_may_start(model)
    if deployment is None:
        return 2
    try:
        scaling = rasa_scaling(args.workers)
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(scaling.note, file=sys.stderr)
    env = {"ACTIONS_PORT": str(args.actions_port), "RASA_PORT": str(args.rasa_port)}
    redis = RedisServer(scaling.redis_binary, log_path=log_dir / "redis.log") if scaling.redis_binary else None
    actions = ActionServer(port=args.actions_port, env=env, log_path=log_dir / "actions.log")
    rasa = RasaServer(
        model=model,
        port=args.rasa_port,
        credentials=Path(args.credentials),
        endpoints=Path(args.endpoints),
        env=env,
        log_path=log_dir / "rasa.log",
        workers=scaling.workers,
        redis_port=redis.port if redis else None,
        enable_api=deployment.http_api,
        auth_token=secret(API_TOKEN_ENV),
    )
    console = ConsoleServer(port=args.console_port, env=env, log_path=log_dir / "console.log")
    servers = ([redis] if redis else []) + [actions, console, rasa]  # the console is quick: before the model loads

    def start() -> None:
        for server in servers:
            print(f"starting {server.name} on 127.0.0.1:{server.port} (log: {server.log_path})", file=sys.stderr)
            server.start()
            server.wait_healthy()
        _print_ready(args.rasa_port, args.actions_port, describe(deployment))
        print(f"  Staff console  http://127.0.0.1:{args.console_port}/  (officers: python -m bot console add-user NAME)",
              file=sys.stderr, flush=True)

    def dead() -> "ServerProcess | None":
        return next((s for s in servers if s.process is not None and s.process.poll() is not None), None)

    def stop() -> None:
        for server in reversed(servers):
            server.stop()

    return _supervise(start, dead, stop)


def run_cluster(args: argparse.Namespace) -> int:
    """The cluster profile (bot/cluster.py): every process started, watched, and stopped on a signal."""
    from bot.cluster import Cluster, cluster_config
    from bot.deployment import API_TOKEN_ENV, describe, secret

    model = Path(args.model)
    deployment = _deployment_that_may_start(model)
    if deployment is None:
        return 2
    cluster: list[Cluster] = []

    def start() -> None:
        config = cluster_config(rasa_port=args.rasa_port, actions_port=args.actions_port, var_dir=args.var_dir,
                                rasa_replicas=args.rasa_replicas, action_replicas=args.action_replicas)
        cluster.append(Cluster(config, model, credentials=Path(args.credentials), endpoints=Path(args.endpoints),
                               enable_api=deployment.http_api, auth_token=secret(API_TOKEN_ENV)))
        print(f"cluster: {config.rasa_replicas} Rasa + {config.action_replicas} action-server replicas behind "
              f"HAProxy, PostgreSQL and Redis; state in {config.var_dir}", file=sys.stderr, flush=True)
        cluster[0].start(announce=lambda line: print(line, file=sys.stderr, flush=True))
        print(f"\nReady (cluster, {describe(deployment)}).\n{cluster[0].describe()}\nTry:\n"
              f"  curl -s {cluster[0].url}/webhooks/rest/webhook -d '{{\"sender\":\"t1\",\"message\":\"tôi muốn làm "
              f"giấy khai sinh\"}}'\nStop with Ctrl-C (or SIGTERM).", flush=True)

    def stop() -> None:
        if cluster:
            cluster[0].stop()

    return _supervise(start, lambda: cluster[0].dead() if cluster else None, stop)


def _deployment_that_may_start(model: Path) -> "Deployment | None":
    """settings.yml's deployment when the servers may start with it and the model exists; else None, said why."""
    from bot.deployment import DeploymentError, describe, load_deployment, production_problems

    try:
        deployment = load_deployment()
    except DeploymentError as exc:
        print(f"error: settings.yml: {exc}", file=sys.stderr)
        return None
    problems = production_problems(deployment)
    if problems:
        print("error: the production profile refuses to start:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        print("see docs/security.md", file=sys.stderr)
        return None
    print(describe(deployment), file=sys.stderr)
    if not model.exists():
        print(f"error: no trained model at {model}; run `make train` first", file=sys.stderr)
        return None
    return deployment


def _supervise(start: Callable[[], None], dead: Callable[[], "ServerProcess | None"], stop: Callable[[], None]) -> int:
    """Start the servers, then watch them until a signal, a server that died or a parent (make) that went away;
    stop everything in every case, so no server is left listening."""
    from bot.processes import StackError

    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    signal.signal(signal.SIGHUP, _raise_stop)
    parent = os.getppid()
    try:
        start()
        while True:
            gone = dead()
            if gone is not None and gone.process is not None:
                raise StackError(f"{gone.name} stopped (exit {gone.process.returncode}):\n{gone.log_tail()}")
            if os.getppid() != parent:
                raise _Stop("parent exited")
            time.sleep(0.5)
    except _Stop as reason:
        print(f"\nstopping ({reason})...", file=sys.stderr)
        return 0
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stop()
        print("stopped: no server left running", file=sys.stderr, flush=True)


def _print_ready(rasa_port: int, actions_port: int, profile: str) -> None:
    print(
        f"""
Ready ({profile}).
  Rasa server    http://127.0.0.1:{rasa_port}  (REST channel /webhooks/rest/webhook, HTTP API /status)
  Action server  http://127.0.0.1:{actions_port}/webhook  (health /health)
  Kiosk page     http://127.0.0.1:{rasa_port}/webhooks/kiosk/  (if the kiosk channel is enabled)
Try:
  curl -s localhost:{rasa_port}/webhooks/rest/webhook -d '{{"sender":"t1","message":"tôi muốn làm giấy khai sinh"}}'
Stop with Ctrl-C (or SIGTERM).
""",
        flush=True,
    )


def register_more(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("rasa-test", help="run Rasa test stories (tests/stories) against a live action server")
    parser.add_argument("--stories", default=str(PROJECT_ROOT / "tests" / "stories"))
    parser.add_argument("--model", default=os.environ.get("RASA_MODEL", str(PROJECT_ROOT / "models" / "tthc.tar.gz")))
    parser.add_argument("--out", default=str(PROJECT_ROOT / "var" / "results"))
    parser.set_defaults(handler=run_rasa_test)
    shell = subparsers.add_parser("shell", help="talk to the bot in the terminal (rasa shell + action server)")
    shell.add_argument("--model", default=os.environ.get("RASA_MODEL", str(PROJECT_ROOT / "models" / "tthc.tar.gz")))
    shell.set_defaults(handler=run_shell)


def _with_action_server(command: list[str], port: int, log_name: str) -> int:
    """Run `command` (a Rasa CLI call) in the foreground while an action server runs on `port`."""
    import subprocess

    from bot.processes import ActionServer, StackError, base_env, write_yaml_temp

    endpoints = write_yaml_temp({"action_endpoint": {"url": f"http://127.0.0.1:{port}/webhook"}}, "endpoints-")
    log_path = PROJECT_ROOT / "var" / "log" / log_name
    try:
        with ActionServer(port=port, log_path=log_path):
            return subprocess.call([*command, "--endpoints", str(endpoints)], cwd=PROJECT_ROOT, env=base_env())
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        endpoints.unlink(missing_ok=True)


def run_rasa_test(args: argparse.Namespace) -> int:
    from bot.processes import RASA_BIN, free_port

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    command = [
        str(RASA_BIN), "test", "core", "--stories", args.stories, "--model", args.model,
        "--out", str(out / "core"), "--fail-on-prediction-errors",
    ]
    code = _with_action_server(command, free_port(), "actions-rasa-test.log")
    failed = out / "core" / "failed_test_stories.yml"
    if code != 0 and failed.exists():
        print(f"failed test stories are in {failed}", file=sys.stderr)
    summary = "passed" if code == 0 else "FAILED"
    print(f"rasa test stories: {summary} (results in {out / 'core'})")
    return code


def run_shell(args: argparse.Namespace) -> int:
    from bot.processes import RASA_BIN

    port = int(os.environ.get("ACTIONS_PORT", "5055"))
    return _with_action_server([str(RASA_BIN), "shell", "--model", args.model], port, "actions-shell.log")
