#!/usr/bin/env bash
# Creates or updates the two Python environments, idempotently.
#   .venv-rasa : Python 3.10, Rasa 3.6.21 + our channels   (requirements/rasa.txt)
#   .venv      : Python 3.11, action server, retrieval, CLI (requirements/app.txt)
# A stamp in each env holds the hash of its requirements, lock file, pyproject.toml and interpreter:
# when nothing changed this script is a no-op that takes well under a second.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

# find_python VERSION VAR -> prints a working interpreter path for VERSION (e.g. 3.10)
find_python() {
    local version=$1 var=$2 tried=() cand
    local candidates=()
    [ -n "${!var:-}" ] && candidates+=("${!var}")
    command -v "python$version" >/dev/null 2>&1 && candidates+=("$(command -v "python$version")")
    local pyenv_root
    pyenv_root=$( (command -v pyenv >/dev/null 2>&1 && pyenv root) || echo "$HOME/.pyenv")
    for cand in "$pyenv_root"/versions/"$version".*/bin/python"$version"; do
        [ -x "$cand" ] && candidates+=("$cand")
    done
    for cand in "${candidates[@]}"; do
        tried+=("$cand")
        if "$cand" -c "import sys; sys.exit(0 if sys.version.startswith('$version.') else 1)" >/dev/null 2>&1; then
            echo "$cand"
            return 0
        fi
    done
    {
        echo "error: Python $version not found (needed for $( [ "$version" = 3.10 ] && echo 'Rasa 3.6 in .venv-rasa' || echo 'the action server and tools in .venv' ))."
        echo "  tried: \$$var, python$version on PATH, \$(pyenv root)/versions/$version.*/bin/python$version"
        [ ${#tried[@]} -gt 0 ] && echo "  candidates that did not run: ${tried[*]}"
        echo "  fix: install Python $version (e.g. 'pyenv install $version') or set $var=/path/to/python$version"
    } >&2
    return 1
}

# ensure_env DIR PYTHON REQUIREMENTS LOCK
ensure_env() {
    local dir=$1 python=$2 req=$3 lock=$4
    local stamp_value
    stamp_value=$(cat "$req" "$lock" pyproject.toml <("$python" -VV) | sha256sum | cut -d' ' -f1)
    if [ -f "$dir/.setup-stamp" ] && [ "$(cat "$dir/.setup-stamp")" = "$stamp_value" ] && [ -x "$dir/bin/python" ]; then
        return 0
    fi
    echo ">>> setting up $dir with $python ($req)" >&2
    if [ ! -x "$dir/bin/python" ]; then
        "$python" -m venv "$dir"
    fi
    # only pip itself: setuptools and packaging versions are Rasa's business (it pins both)
    "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade "pip==25.3"
    "$dir/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" -c "$lock"
    "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -e "$ROOT"
    echo "$stamp_value" > "$dir/.setup-stamp"
    echo ">>> $dir ready" >&2
}

PY310=$(find_python 3.10 PYTHON310)
PY311=$(find_python 3.11 PYTHON311)
ensure_env .venv-rasa "$PY310" requirements/rasa.txt requirements/rasa.lock.txt &
rasa_pid=$!
ensure_env .venv "$PY311" requirements/app.txt requirements/app.lock.txt
wait "$rasa_pid"
