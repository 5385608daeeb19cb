#!/usr/bin/env bash
# One line per missing prerequisite, saying how to get it; exit 1 if any is missing.
missing=0
py=${PYTHON:-python3}
if ! command -v "$py" >/dev/null 2>&1; then
  echo "missing: Python 3.11+ ($py not found): install it from https://www.python.org/downloads/ or your OS packages"; missing=1
elif ! "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
  echo "wrong Python: $("$py" --version 2>&1) found, 3.11+ needed: install it and run 'make PYTHON=python3.11 ...'"; missing=1
elif ! "$py" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  echo "missing: Python venv/ensurepip: install your OS package python3-venv"; missing=1
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "missing: Node.js 20+ with npm (for Azurite): install it from https://nodejs.org or your OS packages (nodejs, npm)"; missing=1
elif ! node -e 'process.exit(parseInt(process.versions.node) >= 20 ? 0 : 1)'; then
  echo "wrong Node.js: $(node --version) found, 20+ needed: install it from https://nodejs.org"; missing=1
fi
exit $missing
