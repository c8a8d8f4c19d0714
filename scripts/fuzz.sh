#!/usr/bin/env bash
# The long fuzz run: every loader, the protobuf reader, YAML and the control socket with fifty
# times the cases of the CI run (PEDAL_FUZZ=N for another factor). Installs what it needs, as
# scripts/test.sh does. Extra arguments go to pytest.
set -euo pipefail
export PEDAL_FUZZ="${PEDAL_FUZZ:-50}"
exec bash "$(dirname "$0")/test.sh" tests/test_fuzz.py tests/test_hostile.py "$@"
