"""Keeps the Kubernetes ConfigMap's files identical to their sources in the repository.

The cluster runs with the same settings.yml as `make run`; what differs in a cluster comes from the environment
(BOT_PROFILE=production, DATABASE_URL and the tokens from Secrets) and from the cluster endpoints file
(deploy/endpoints.cluster.yml: PostgreSQL tracker store, Redis lock store), which docker-compose mounts as it is.
So each copy is verbatim, comments included, and this module rewrites it as text (a YAML dump would drop the
comments operators read). `python -m bot deploy sync-config` writes it; tests/test_deploy_manifests.py checks it.
"""

from __future__ import annotations

import re
from pathlib import Path

from bot.settings import PROJECT_ROOT

# ConfigMap key -> the repository file it must equal
SOURCES: dict[str, Path] = {
    "settings.yml": PROJECT_ROOT / "settings.yml",
    "endpoints.yml": PROJECT_ROOT / "deploy" / "endpoints.cluster.yml",
}
_INDENT = "    "


class ConfigMapFormatError(ValueError):
    """The ConfigMap text has no `  <key>: |` literal block under `data:`."""


def _block(text: str) -> list[str]:
    return [(_INDENT + line) if line.strip() else "" for line in text.rstrip("\n").split("\n")]


def render_configmap(configmap_text: str, key: str, content: str) -> str:
    """`configmap_text` with the literal block of `key` replaced by `content`, indented."""
    key_line = re.compile(r"^  " + re.escape(key) + r": \|\s*$")
    lines = configmap_text.split("\n")
    try:
        start = next(i for i, line in enumerate(lines) if key_line.match(line))
    except StopIteration:
        raise ConfigMapFormatError(f"no '  {key}: |' line (a literal block under data:)") from None
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or lines[end].startswith(_INDENT)):
        end += 1
    # blank lines between the block and the next key belong to the file's layout, not to the block
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    return "\n".join(lines[: start + 1] + _block(content) + lines[end:])


def synced_configmap(configmap_text: str, sources: dict[str, Path] | None = None) -> str:
    """The ConfigMap text with every key of `sources` (default SOURCES) copied from its file."""
    for key, path in (sources or SOURCES).items():
        configmap_text = render_configmap(configmap_text, key, path.read_text(encoding="utf-8"))
    return configmap_text
