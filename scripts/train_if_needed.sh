#!/usr/bin/env bash
# Trains the Rasa model only when config.yml, domain.yml or data/ changed (content hash, not file times,
# so a fresh clone or a checkout that touches files does not retrain for nothing).
set -euo pipefail
cd "$(dirname "$0")/.."
model=models/tthc.tar.gz
stamp=models/.train-hash
hash=$( (cat config.yml domain.yml; find data -type f -name '*.yml' | LC_ALL=C sort | xargs cat; cat requirements/rasa.lock.txt) | sha256sum | cut -d' ' -f1)
if [ -f "$model" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ]; then
    echo "model up to date: $model" >&2
    exit 0
fi
echo ">>> training the Rasa model (data, config or domain changed)" >&2
mkdir -p models
start=$(date +%s)
RASA_TELEMETRY_ENABLED=false .venv-rasa/bin/rasa train --fixed-model-name tthc --out models
echo "$hash" > "$stamp"
echo ">>> trained $model in $(( $(date +%s) - start ))s" >&2
