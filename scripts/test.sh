#!/usr/bin/env bash
# Install the pedal with its test extras and run the whole test suite. Extra arguments go to
# pytest (for example: scripts/test.sh -k cab).
# portaudio19-dev: PyAudio builds against it; jackd2 + libasound2-plugins: the real PortAudio
# stream the end-to-end tests run with no sound card (tests/testbed.py)
. "$(dirname "$0")/_setup.sh" test,bench,audio portaudio19-dev jackd2 libasound2-plugins
cd "$ROOT"
echo "type check (mypy, pedal/)"
"$ROOT/.venv/bin/python" -m mypy --no-error-summary
"$ROOT/.venv/bin/pedal" warmup
exec "$ROOT/.venv/bin/python" -m pytest -q -p no:cacheprovider "$@"
