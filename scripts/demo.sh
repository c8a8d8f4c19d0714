#!/usr/bin/env bash
# Install the pedal and render the bundled demo DI clip through the default preset.
. "$(dirname "$0")/_setup.sh" plot
cd "$ROOT"
mkdir -p out
"$ROOT/.venv/bin/pedal" warmup
"$ROOT/.venv/bin/pedal" render pedal/assets/demo_di.flac out/demo.wav --plot
echo
echo "Listen to out/demo.wav (input: pedal/assets/demo_di.flac); spectrograms in out/demo.png"
