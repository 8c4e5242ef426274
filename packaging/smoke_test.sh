#!/usr/bin/env bash
# Smoke test of a frozen build: the window starts, the engine answers, and the program trains through its
# own engine, in a throw-away data folder.
#
#     packaging/smoke_test.sh [APP_FOLDER]      # default: dist/tunewright
#
# It trains two runs:
#   1. a tiny random BERT (2 layers, 32 wide, made by $PYTHON, the development Python, beforehand: the frozen
#      program runs no Python of ours) on 32 rows, in the foreground (`tunewright engine run job.json`);
#   2. the bundled demo model for 2 steps, detached: the frozen program starts itself as a job process
#      (`tunewright engine job N`), which is how the window starts every run.
# Each step prints its time; the script exits non-zero at the first failure.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
APP="$(cd "${1:-$ROOT/dist/tunewright}" && pwd)"
EXE="$APP/tunewright"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/tunewright-smoke.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
export TUNEWRIGHT_HOME="$WORK/home" HF_HUB_OFFLINE=1 QT_QPA_PLATFORM=offscreen
cd "$WORK"  # nothing may depend on being started from the source tree

step() {  # step NAME COMMAND...: run it, print its time, stop the test if it fails
    local name="$1" start
    shift
    start=$(date +%s%N)
    if ! "$@" > "$WORK/out.txt" 2> "$WORK/err.txt"; then
        echo "FAIL  $name"
        tail -n 20 "$WORK/out.txt" "$WORK/err.txt"
        exit 1
    fi
    printf 'ok    %-62s %6.1f s\n' "$name" "$(( ($(date +%s%N) - start) / 1000000 ))e-3"
}

echo "Smoke test of $APP ($(du -sh "$APP" | cut -f1))"

step "the window starts offscreen (--screenshot home.png)" "$EXE" --screenshot "$WORK/home.png"
test -s "$WORK/home.png" || { echo "FAIL  no screenshot written"; exit 1; }

step "engine probe --json" "$EXE" engine probe --json
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert any(x['type']=='cpu' for x in d['devices']), d" "$WORK/out.txt"

step "engine example classify" "$EXE" engine example classify
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['model']=='demo:minilm', d" "$WORK/out.txt"
DEMO_CONFIG="$(cat "$WORK/out.txt")"

# A tiny random BERT with MiniLM's tokenizer, and 32 labelled rows.
step "make a tiny random BERT (with the development Python)" env PYTHONPATH="$ROOT" "$PYTHON" - "$WORK/tiny-bert" <<'PY'
import sys
import torch
from transformers import AutoTokenizer, BertConfig, BertModel
from engine.models.catalog import BUNDLED, package_folder

torch.manual_seed(0)
tokenizer = AutoTokenizer.from_pretrained(package_folder(BUNDLED["demo:minilm"].package) / "model")
config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                    intermediate_size=64, max_position_embeddings=128)
BertModel(config).save_pretrained(sys.argv[1])
tokenizer.save_pretrained(sys.argv[1])
PY
python3 - "$WORK" <<'PY'
import csv, json, sys
from pathlib import Path

work = Path(sys.argv[1])
words = {"booking": "I would like to book a room for {} nights", "complaint": "The room was too noisy on night {}"}
with open(work / "tiny.csv", "w", newline="", encoding="utf-8") as file:
    writer = csv.writer(file)
    writer.writerow(["text", "label"])
    for n in range(16):
        for label, text in words.items():
            writer.writerow([text.format(n + 1), label])
job = {"kind": "classify", "name": "Smoke test", "model": str(work / "tiny-bert"), "data": str(work / "tiny.csv"),
       "method": "full", "epochs": 2, "batch_size": 8, "max_length": 32, "learning_rate": 1e-3,
       "early_stopping_patience": 0}
(work / "job.json").write_text(json.dumps(job), encoding="utf-8")
PY

step "engine run job.json (tiny BERT, 2 epochs, in the foreground)" "$EXE" engine run "$WORK/job.json"
step "engine status 1 --json" "$EXE" engine status 1 --json
python3 -c "
import json, sys
run = json.load(open(sys.argv[1]))
assert run['status'] == 'completed', run['status']
assert run['step'] == run['total_steps'] > 0, (run['step'], run['total_steps'])
print('      run 1:', run['status'], 'at step', run['step'], 'of', run['total_steps'])
" "$WORK/out.txt"

# The demo model, as the window's "Start with a demo" runs it, cut to 2 steps; detached, so the frozen
# program starts itself as the job process.
echo "$DEMO_CONFIG" > "$WORK/demo.json"
step "engine run demo.json --detach (bundled MiniLM, 2 steps)" "$EXE" engine run "$WORK/demo.json" --set max_steps=2 --set batch_size=8 --detach
start=$(date +%s)
status=""
while (( $(date +%s) - start < 600 )); do
    "$EXE" engine status 2 --json > "$WORK/status.json"
    status="$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['status'])" "$WORK/status.json")"
    case "$status" in completed|failed|cancelled|interrupted) break ;; esac
    sleep 2
done
printf 'ok    %-62s %6d s\n' "the detached job process finished: $status" "$(( $(date +%s) - start ))"
[[ "$status" == completed ]] || { python3 -m json.tool "$WORK/status.json" | tail -n 30; echo "FAIL  run 2 is $status"; exit 1; }

echo "Smoke test passed."
