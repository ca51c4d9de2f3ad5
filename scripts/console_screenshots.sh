#!/usr/bin/env bash
# Refresh the staff console screenshots in docs/img/ (issue 17): runs the headless-Chromium console test,
# which saves them to var/screenshots/, then copies them. Run from the repository root.
set -euo pipefail
.venv/bin/python -m pytest -q tests/test_console_browser.py
mkdir -p docs/img
cp var/screenshots/console-queue.png var/screenshots/console-handoff.png var/screenshots/console-charts.png docs/img/
echo "docs/img/console-{queue,handoff,charts}.png updated: look at them before committing"
