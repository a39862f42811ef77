#!/usr/bin/env bash
# Installs the pinned Python dev tools (requirements.txt: pyspark, checkov, awscli) into .venv/ at the repository
# root. Idempotent: a stamp holds the hash of requirements.txt and the interpreter's version, so a second run
# returns at once; a changed requirements.txt (or Python) rebuilds the environment from scratch.
# Needs Python 3.11 (PYTHON=/path/to/python3.11 to choose one); npm run test:spark also needs Java 17.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.venv"
requirements="$root/requirements.txt"
stamp="$venv/.requirements.sha256"

python="${PYTHON:-}"
if [ -z "$python" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then python="$candidate"; break; fi
  done
fi
if [ -z "$python" ]; then
  echo "python-env: no python3.11 or python3 on the PATH (set PYTHON=/path/to/python3.11)" >&2
  exit 2
fi
version="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
if [ "$version" != "3.11" ]; then
  echo "python-env: $python is Python $version; requirements.txt is compiled for 3.11 (set PYTHON=/path/to/python3.11)" >&2
  exit 2
fi

want="$( (sha256sum "$requirements" | cut -d' ' -f1; "$python" -c 'import sys; print(sys.version)') | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/python" ]; then
  echo "python-env: .venv/ is up to date with requirements.txt"
  exit 0
fi

started=$SECONDS
echo "python-env: installing requirements.txt into .venv/ (Python $version)"
rm -rf "$venv"
"$python" -m venv "$venv"
# --require-hashes: every file must match a hash in requirements.txt; --no-deps: the file pins the whole tree.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
  --require-hashes --no-deps -r "$requirements"
"$venv/bin/python" -m pip check --disable-pip-version-check
echo "$want" > "$stamp"
echo "python-env: done in $((SECONDS - started)) s ($(du -sh "$venv" | cut -f1) in .venv/)"
