"""``basic-pitch``: Spotify's Basic Pitch (ICASSP 2022) polyphonic note model, the ONNX file shipped in the
``basic-pitch`` package, run with onnxruntime (the package itself wants TensorFlow; it is never imported).

22.05 kHz; the audio is front-padded with 15 frames (3840 samples) and cut into 43844-sample (~2 s) windows, each
giving 172 frames at hop 256 (86.13 fps) of which 15 are dropped on each side before stitching, as the package does.
One deliberate difference: windows advance by exactly 142 x 256 samples, so stitched frames sit on the 256-sample
grid (the package's 36164-sample hop lets frames drift 0.5 % per window).
Layers: 1 = pitch contour (264 bins, 3 per semitone from A0), 2 = note activation (88 keys, MIDI 21..108),
3 = onset activation (88 keys).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .assets import module_available, package_file
from .base import Teacher, TeacherInfo, TeacherOutput
from .batching import lengths_to_mask, resample_batch

SAMPLE_RATE = 22050
HOP = 256
WINDOW = 43844
N_OUT = 172
STRIP = 15
KEEP = N_OUT - 2 * STRIP  # 142
WINDOW_HOP = KEEP * HOP
MIDI_OFFSET = 21
_PIP = "basic-pitch==0.4.0"
_OUTPUTS = ("StatefulPartitionedCall:0", "StatefulPartitionedCall:1", "StatefulPartitionedCall:2")  # contour, note, onset


def static_info(**_) -> TeacherInfo:
    return TeacherInfo(name="basic-pitch", domain="music", sample_rate=SAMPLE_RATE, frame_rate=SAMPLE_RATE / HOP,
                       num_layers=3, dims={1: 264, 2: 88, 3: 88}, feature="hidden", licence="Apache-2.0",
                       extra={"layers": {1: "contour (264)", 2: "note (88, MIDI 21+)", 3: "onset (88)"}})


def check_available(**_) -> None:
    package_file("basic_pitch", "saved_models/icassp_2022/nmp.onnx", _PIP, no_deps=True)
    module_available("onnxruntime", "onnxruntime")


class BasicPitchTeacher(Teacher):
    supports_dtype = False  # ONNX float32 model

    def __init__(self, batch_windows: int = 16, threads: int | None = None) -> None:
        super().__init__()
        check_available()
        import onnxruntime as ort

        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        path = package_file("basic_pitch", "saved_models/icassp_2022/nmp.onnx", _PIP, no_deps=True)
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.batch_windows = batch_windows
        self.info = static_info()

    @staticmethod
    def num_frames(num_samples_22k: int) -> int:
        return max(1, math.ceil(int(num_samples_22k) / HOP))

    def _forward(self, wav: torch.Tensor, lengths: torch.Tensor, layers: list[int]) -> TeacherOutput:
        x, n22 = resample_batch(wav.float(), lengths, 16000, SAMPLE_RATE)
        x = x.cpu().numpy()
        windows, owners = [], []
        for b, n in enumerate(n22.tolist()):
            padded = np.concatenate([np.zeros(STRIP * HOP, np.float32), x[b, :n]])
            for start in range(0, len(padded), WINDOW_HOP):
                w = padded[start: start + WINDOW]
                windows.append(np.pad(w, (0, WINDOW - len(w))))
                owners.append(b)
        stack = np.stack(windows)[..., None].astype(np.float32)
        outs = {1: [], 2: [], 3: []}
        for i in range(0, len(stack), self.batch_windows):
            res = self.session.run(list(_OUTPUTS), {self.input_name: stack[i: i + self.batch_windows]})
            for l, r in zip((1, 2, 3), res):
                outs[l].append(r[:, STRIP: N_OUT - STRIP])
        counts = [self.num_frames(n) for n in n22.tolist()]
        T = max(counts)
        feats = {}
        for l in layers:
            allw = np.concatenate(outs[l])
            out = np.zeros((len(counts), T, allw.shape[-1]), np.float32)
            for b, t in enumerate(counts):
                clip = allw[[i for i, o in enumerate(owners) if o == b]].reshape(-1, allw.shape[-1])
                out[b, :t] = clip[:t]
            feats[l] = torch.from_numpy(out).to(wav.device)
        mask = lengths_to_mask(torch.tensor(counts, device=wav.device), T)
        return TeacherOutput(features=feats, mask=mask, frame_rate=self.info.frame_rate)
