#!/usr/bin/env bash
# The whole GPU session's work, on the GPU machine, from the repository root, with .whl/ carried
# (bench/fetch_wheels.sh makes it): the CUDA tests, then the benchmark, under 9 minutes in all.
# Everything it writes is also copied to $OUT (the results, the log, the README with its table).
set -uo pipefail
out=${OUT:-/tmp/bench-out}
mkdir -p "$out"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | tee "$out/gpu.log"
timeout 45 python3 -m pytest -q -p no:cacheprovider -m gpu tests/engine/test_packing.py 2>&1 | tail -5 | tee -a "$out/gpu.log"
rm -f bench/results.jsonl
timeout 480 python3 bench/run.py --out bench/results.jsonl --readme bench/README.md --budget-seconds 320 2>&1 \
    | grep -v -i warn | tee "$out/bench.log"
cp bench/results.jsonl bench/README.md "$out/" 2>/dev/null
