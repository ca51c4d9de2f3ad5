"""`python -m bot bench cluster` (`make bench-cluster`): the fault and load test of the cluster profile.

Starts a private cluster (its own folder var/bench-cluster, free ports), runs bot/cluster_bench.py against its
balancer, stops everything. Exit 1 when a target is missed (lost events, a conversation not resumed, errors
outside the kill window or above 1 % of messages).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
from pathlib import Path

from bot.cli.main import command_group
from bot.settings import PROJECT_ROOT


def register(subparsers: argparse._SubParsersAction) -> None:
    bench = command_group(subparsers, "bench", "benchmarks")
    cluster = bench.add_parser("cluster", help="citizens through the balancer while replicas are killed: JSON line")
    cluster.add_argument("--model", default=os.environ.get("RASA_MODEL", str(PROJECT_ROOT / "models" / "tthc.tar.gz")))
    cluster.add_argument("--citizens", type=int, default=20)
    cluster.add_argument("--seconds", type=float, default=60.0, help="load phase, at least (default 60)")
    cluster.add_argument("--kill-after", type=float, default=20.0, help="seconds into the load phase (default 20)")
    cluster.add_argument("--rasa-replicas", type=int, default=None, help="default: settings.yml cluster")
    cluster.add_argument("--action-replicas", type=int, default=None, help="default: settings.yml cluster")
    cluster.add_argument("--var-dir", default=str(PROJECT_ROOT / "var" / "bench-cluster"),
                         help="emptied at the start; logs stay there afterwards")
    cluster.set_defaults(handler=_bench_cluster)


def _bench_cluster(args: argparse.Namespace) -> int:
    from bot.cluster import Cluster, cluster_config
    from bot.cluster_bench import Bench, print_result, verdict
    from bot.processes import StackError, free_port

    model = Path(args.model)
    if not model.exists():
        print(f"error: {model}: no trained model (run `make train`)", file=sys.stderr)
        return 2
    if args.citizens < 1 or args.seconds <= 0 or not 0 < args.kill_after < args.seconds:
        print("error: need citizens >= 1 and 0 < kill-after < seconds", file=sys.stderr)
        return 2
    var_dir = Path(args.var_dir)
    shutil.rmtree(var_dir, ignore_errors=True)
    try:
        config = cluster_config(rasa_replicas=args.rasa_replicas, action_replicas=args.action_replicas,
                                var_dir=var_dir, rasa_port=free_port(), actions_port=free_port())
        cluster = Cluster(config, model, endpoints=PROJECT_ROOT / "endpoints.yml", enable_api=True)
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"bench cluster: {config.rasa_replicas} Rasa + {config.action_replicas} action-server replicas, "
          f"{args.citizens} citizens for >= {args.seconds:.0f} s, one Rasa and one action replica killed at "
          f"{args.kill_after:.0f} s (logs: {cluster.log_dir})", flush=True)
    try:
        cluster.start(announce=lambda line: print(line, flush=True))
        bench = Bench(cluster, args.citizens, args.seconds, args.kill_after)
        result = asyncio.run(bench.run())
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        cluster.stop()
    print_result(result, bench.tally.errors, bench.tally.wrong)
    return 0 if not verdict(result) else 1
