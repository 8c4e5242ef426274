#!/usr/bin/env bash
# The whole GPU session's work, on the GPU machine, from the repository root, with .whl/ carried
# (bench/fetch_wheels.sh makes it): the CUDA tests, the fast paths' self-test, the benchmark (speed,
# memory forecast against measured peaks; QLoRA is proven by the self-test's step) and, with two or more GPUs,
# data-parallel scaling, whole copies and the model divided (FSDP2; the self-test proves that path too, with its
# "multi_gpu" and "sharded" checks); under 10 minutes in all, and up to 4 more for the image benchmark at the end.
# $OUT/gpu.jsonl gathers every figure as JSON lines.
# Everything it writes is also copied to $OUT (the results, the log, the README with its table).
set -uo pipefail
out=${OUT:-/tmp/bench-out}
mkdir -p "$out"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | tee "$out/gpu.log"
timeout 45 python3 -m pytest -q -p no:cacheprovider -m gpu tests/engine/test_packing.py 2>&1 | tail -5 | tee -a "$out/gpu.log"
# The fast paths' self-test (engine/selftest.py): one JSON document, each path's loss and gradient error.
export TUNEWRIGHT_HOME=/tmp/tw-home
mkdir -p "$TUNEWRIGHT_HOME"
timeout 150 python3 -m engine selftest --json > "$out/selftest.json" 2> "$out/selftest.log"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(json.dumps({"case": "selftest", **d}))' \
    "$out/selftest.json" >> "$out/gpu.jsonl" 2>/dev/null
rm -f bench/results.jsonl
timeout 360 python3 bench/run.py --out bench/results.jsonl --readme bench/README.md --budget-seconds 220 2>&1 \
    | grep -v -i warn | tee "$out/bench.log"
cat bench/results.jsonl >> "$out/gpu.jsonl" 2>/dev/null
# Data-parallel scaling (bench/scaling.py), on a machine with two or more GPUs: all of them with whole copies of
# the model, then two with the model divided between them (FSDP2), each beside one GPU.
gpus=$(python3 -c 'import torch; print(torch.cuda.device_count())' 2>/dev/null || echo 0)
if [ "${gpus:-0}" -ge 2 ]; then
    timeout 150 python3 bench/scaling.py --processes "$gpus" --out "$out/gpu.jsonl" 2>&1 | tail -25 | tee -a "$out/bench.log"
    timeout 200 python3 bench/scaling.py --processes 2 --divided --out "$out/gpu.jsonl" 2>&1 | tail -40 | tee -a "$out/bench.log"
fi
# Images (bench/images.py, bench/images.md): the app's run against a plain timm loop at 224 px, the workers the app
# decides (8 on 16 cores), overlapping patches for enough steps; is the data loader's share of step time under 10%?
timeout 240 python3 bench/images.py --size 224 --epochs 3 --batch 64 --stride 16 --per-category 640 --photos .whl/photos \
    --out "$out/gpu.jsonl" 2>&1 | grep -v -i warn | tail -8 | tee -a "$out/bench.log"
cp bench/results.jsonl bench/README.md "$out/" 2>/dev/null
