"""CPU and memory of each server process under a known load: the figures that size a container.

`python -m bot bench footprint` starts the three processes of a pod each (Rasa server with one worker, action
server, staff console) as `make run` does, drives scripted citizens through the REST channel and reads, with
psutil, how much CPU time each process used per message and how much memory (RSS) it held. Throughput on a
shared machine depends on what else runs; CPU milliseconds per message much less, so the Kubernetes requests and
the replica counts in docs/deployment.md are derived from them.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import psutil

MB = 1024 * 1024


def _tree(pid: int) -> list[psutil.Process]:
    """The process and its children (a server may fork helpers)."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process tree so far."""
    total = 0.0
    for proc in _tree(pid):
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return total


def rss_bytes(pid: int) -> int:
    """Resident memory of a process tree now."""
    total = 0
    for proc in _tree(pid):
        try:
            total += proc.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


@dataclass
class ProcessUsage:
    """What one server used between `start()` and `stop()`."""

    name: str
    pid: int
    rss_idle: int = 0
    rss_peak: int = 0
    cpu_start: float = 0.0
    cpu_end: float = 0.0

    def start(self) -> None:
        self.rss_idle = self.rss_peak = rss_bytes(self.pid)
        self.cpu_start = cpu_seconds(self.pid)

    def sample(self) -> None:
        self.rss_peak = max(self.rss_peak, rss_bytes(self.pid))

    def stop(self) -> None:
        self.sample()
        self.cpu_end = cpu_seconds(self.pid)

    @property
    def cpu_used(self) -> float:
        return self.cpu_end - self.cpu_start

    def as_dict(self, messages: int, seconds: float) -> dict[str, float | str]:
        return {
            "process": self.name,
            "rss_idle_mb": round(self.rss_idle / MB, 1),
            "rss_peak_mb": round(self.rss_peak / MB, 1),
            "cpu_ms_per_msg": round(1000 * self.cpu_used / messages, 2) if messages else 0.0,
            "cores_busy": round(self.cpu_used / seconds, 2) if seconds else 0.0,
        }


@dataclass
class Sampler:
    """Samples the RSS of every watched process in a background thread while a load runs."""

    usages: list[ProcessUsage]
    interval: float = 0.25
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> "Sampler":
        for usage in self.usages:
            usage.start()
        self._thread = threading.Thread(target=self._run, name="footprint-sampler", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for usage in self.usages:
                usage.sample()

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        for usage in self.usages:
            usage.stop()


def measure_while(usages: list[ProcessUsage], load: Callable[[], object]) -> float:
    """Run `load()` while sampling; returns its wall time in seconds."""
    with Sampler(usages):
        started = time.perf_counter()
        load()
        return time.perf_counter() - started
