#!/usr/bin/env bash
# The bundled demos, each trained on all its data exactly as a first-time user runs it, against what it must
# reach: the tests marked `demo` (tests/engine/test_demo_models.py: MiniLM sorts hotel requests far beyond
# always guessing the commonest, SmolLM2 learns who it is; tests/engine/test_distill.py: the trained MiniLM
# demo teaches a 3-layer student, and SmolLM2 a 15-layer one). About ten minutes on two CPU cores, so not
# part of every test run.
# Prints each demo's figures and time; bench/demos.md keeps them.
set -euo pipefail
cd "$(dirname "$0")/.."
export QT_QPA_PLATFORM=offscreen TUNEWRIGHT_DEMOS=1
.venv/bin/python -m pytest -m demo -p no:cacheprovider -q -s -rA --durations=0 tests/engine 2>&1 | tee bench/demos.log
