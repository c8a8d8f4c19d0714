#!/usr/bin/env bash
# Install the pedal with its test extras and run the whole test suite. Extra arguments go to
# pytest (for example: scripts/test.sh -k cab).
. "$(dirname "$0")/_setup.sh" test,bench
cd "$ROOT"
"$ROOT/.venv/bin/pedal" warmup
exec "$ROOT/.venv/bin/python" -m pytest -q -p no:cacheprovider "$@"
