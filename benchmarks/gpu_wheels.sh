#!/usr/bin/env bash
# Wheels for the packages usad needs that a bare GPU machine's Python (3.12, PyTorch + transformers image) lacks,
# into .whl/ (git-ignored) so a device call can carry them: audio I/O (soundfile, soxr), recipe loading
# (omegaconf) and the training data pipeline (lhotse). Run once here, where the package registry is reachable;
# benchmarks/README.md has the call.
#   bash benchmarks/gpu_wheels.sh [PYTHON_VERSION]     # default 3.12
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${1:-3.12}"
PIP="${PIP:-python3 -m pip}"
mkdir -p .whl
# binary wheels for the GPU machine's interpreter; each pin is the version this project's tests ran with
$PIP download -q --no-deps --only-binary=:all: --python-version "$PY" --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .whl \
  soundfile==0.14.0 cffi==2.1.1 pycparser==3.12 soxr==1.1.0 lhotse==1.33.0 audioread==3.1.0 cytoolz==1.2.0 \
  omegaconf==2.4.0
# intervaltree (imported by lhotse) is published as source only: build its pure-Python wheel here
$PIP wheel -q --no-deps -w .whl intervaltree==3.2.1
ls -la .whl
du -sh .whl
