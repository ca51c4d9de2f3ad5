"""Keeps the Kubernetes ConfigMap's copy of settings.yml identical to the repository's settings.yml.

The cluster runs with the same settings.yml as `make run`; what differs in a cluster comes from the environment
(BOT_PROFILE=production, DATABASE_URL and the tokens from Secrets) and from the ConfigMap's own endpoints.yml.
So the copy is verbatim, comments included, and this module rewrites it as text (a YAML dump would drop the
comments operators read). `python -m bot deploy sync-config` writes it; tests/test_deploy_manifests.py checks it.
"""

from __future__ import annotations

import re

KEY = "settings.yml"
_KEY_LINE = re.compile(r"^  " + re.escape(KEY) + r": \|\s*$")
_INDENT = "    "


class ConfigMapFormatError(ValueError):
    """The ConfigMap text has no `  settings.yml: |` block under `data:`."""


def _block(settings_text: str) -> list[str]:
    return [(_INDENT + line) if line.strip() else "" for line in settings_text.rstrip("\n").split("\n")]


def render_configmap(configmap_text: str, settings_text: str) -> str:
    """`configmap_text` with the literal block of `settings.yml` replaced by `settings_text`, indented."""
    lines = configmap_text.split("\n")
    try:
        start = next(i for i, line in enumerate(lines) if _KEY_LINE.match(line))
    except StopIteration:
        raise ConfigMapFormatError(f"no '  {KEY}: |' line (a literal block under data:)") from None
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or lines[end].startswith(_INDENT)):
        end += 1
    # blank lines between the block and the next key belong to the file's layout, not to the block
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    return "\n".join(lines[: start + 1] + _block(settings_text) + lines[end:])
