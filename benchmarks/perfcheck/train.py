"""Section ``train``: one optimiser step of the distillation model (student + prediction heads) per preset, on
cached targets (made once, untimed), as ``usad distill`` runs it: bf16 autocast, fused AdamW, gradient clipping;
``torch.compile`` (the trainer's ``train.compile``) where the time guard allows; the FSDP2 path (``train.fsdp``:
fully_shard per block, bf16 parameters through MixedPrecisionPolicy) at xlarge on one device.

The targets stand for the paper's stage-1 teachers: 768-d x 12 layers at 50 Hz (speech, WavLM Base+), 768-d x 12
at 25 Hz (sound, ATST-Frame), 1024-d x 12 at 25 Hz (music, MuQ), K=4 pairs each, heads of width 1024. MFU = the
trainer's estimate (usad.distill.flops: 6 N T + attention, N = student + heads) over the device's bf16 peak.
"""
from __future__ import annotations

import contextlib
import tempfile
import time

import torch

from perfcheck.common import Guard, PeakMemory, free_memory, is_oom, skipped, synthetic_audio, time_call
from usad.distill.flops import train_flops
from usad.distill.heads import HeadSet
from usad.distill.mapping import sparse_mapping
from usad.distill.objective import loss_step
from usad.distill.student import DistillModel
from usad.distill.weights import domain_weights
from usad.model.config import preset_config
from usad.model.encoder import Encoder
from usad.peak import peak_flops
from usad.teachers.base import TeacherOutput

PRESETS = ["small", "base", "large", "xlarge", "xxlarge"]
TEACHERS = [("speech", 768, 12, 50.0), ("sound", 768, 12, 25.0), ("music", 1024, 12, 25.0)]
TOY_TEACHERS = [("speech", 32, 2, 50.0), ("sound", 32, 2, 25.0), ("music", 48, 2, 25.0)]


class Step:
    """Student + heads + AdamW on one fixed batch; ``step()`` is one optimiser step as the trainer takes it."""

    def __init__(self, preset: str, device: torch.device, quick: bool, batch: int, seconds: float,
                 compile_: bool = False, fsdp: bool = False) -> None:
        from perfcheck.inference import TOY

        torch.manual_seed(0)
        self.device = device
        cfg = preset_config(preset, **(TOY if quick else {}))
        with torch.device(device):
            student = Encoder(cfg).train()
        teachers = TOY_TEACHERS if quick else TEACHERS
        plan = {d: sparse_mapping(cfg.num_layers, n, 4) for d, _, n, _ in teachers}
        dims = {d: {l: w for l in range(n + 1)} for d, w, n, _ in teachers}
        heads = HeadSet(cfg.dim, plan, dims, 64 if quick else 1024).to(device)
        self.model = DistillModel(student, heads)
        self.num_params = sum(p.numel() for p in self.model.parameters())
        self.cfg, self.fsdp = cfg, fsdp
        use_bf16 = device.type == "cuda" or quick   # quick CPU runs still exercise the autocast path
        wrapped = self.model
        if fsdp:
            from usad.distill.distributed import DistEnv, wrap_model

            wrapped = wrap_model(self.model, True, DistEnv(0, 1, 0, device), use_bf16 and device.type == "cuda")
        self.wrapped = wrapped
        # dynamic=False: every clip here is the same length. (The trainer's dynamic=True failed in inductor on
        # torch 2.13, "cannot determine truth value of Relational" on the frame count; see the section's notes.)
        self.forward = torch.compile(wrapped, dynamic=False) if compile_ else wrapped
        self.opt = torch.optim.AdamW(wrapped.parameters(), lr=1e-4, fused=device.type == "cuda" or None)
        self.bf16 = use_bf16 and not fsdp   # as the trainer: FSDP's MixedPrecisionPolicy already gives bf16
        self.wav = synthetic_audio(batch, seconds, seed=5, device=device)
        self.lengths = torch.full((batch,), self.wav.shape[1], device=device)
        self.domains = [d for d, *_ in teachers]
        self.weights = domain_weights(self.domains, [self.domains[i % 3] for i in range(batch)]).to(device)
        gen = torch.Generator(device=device).manual_seed(1)
        self.targets = {}
        for d, w, n, rate in teachers:   # cached targets: fixed tensors of each teacher's shape, made on the device
            frames = -(-self.wav.shape[1] * int(rate) // 16000)
            feats = {p.teacher: torch.randn(batch, frames, w, generator=gen, device=device) for p in plan[d]}
            self.targets[d] = TeacherOutput(features=feats, mask=torch.ones(batch, frames, dtype=torch.bool,
                                                                            device=device), frame_rate=rate)
        self.frames = torch.zeros(batch)                  # student frames per clip, set by step()
        self.audio_s = batch * seconds

    def step(self) -> float:
        self.opt.zero_grad(set_to_none=True)
        res = loss_step(self.forward, self.wav, self.lengths, self.targets, self.weights, self.domains, bf16=self.bf16)
        res.loss.backward()
        torch.nn.utils.clip_grad_norm_(self.wrapped.parameters(), 1.0)
        self.opt.step()
        self.frames = res.student_frames
        return float(res.loss.detach())


def _one(preset: str, device: torch.device, quick: bool, batch: int, seconds: float, compile_: bool = False,
         fsdp: bool = False) -> dict:
    t0 = time.monotonic()
    with PeakMemory(device) as mem:
        s = Step(preset, device, quick, batch, seconds, compile_, fsdp)
        first = time.monotonic()
        loss = s.step()                                  # compiles, allocates, warms the allocator
        first = time.monotonic() - first
        step_s = time_call(s.step, device, warmup=1, min_time=0.0 if quick else 1.0, min_iters=2, max_iters=5)
    peak, source = peak_flops(device, "bfloat16" if device.type == "cuda" else "float32")
    flops = train_flops(s.num_params, s.cfg.num_layers, s.cfg.dim, s.frames)
    out = {"preset": preset, "compile": compile_, "fsdp": fsdp, "params_m": round(s.num_params / 1e6, 2),
           "batch": batch, "batch_audio_s": s.audio_s, "step_s": step_s, "audio_s_per_s": s.audio_s / step_s,
           "tflops": flops / step_s / 1e12, "mfu": flops / step_s / peak, "peak_tflops": peak / 1e12,
           "peak_source": source, "first_step_s": first, "loss": loss, "peak_mem_gb": mem.gb,
           "wall_s": time.monotonic() - t0}
    del s
    free_memory(device)
    return out


@contextlib.contextmanager
def _single_process_group(device: torch.device):
    """A world of one (FSDP2 needs a process group), through a file in a temporary folder: no network."""
    import torch.distributed as dist

    with tempfile.TemporaryDirectory() as tmp:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo", init_method=f"file://{tmp}/pg",
                                rank=0, world_size=1)
        try:
            yield
        finally:
            dist.destroy_process_group()


def run(device: torch.device, quick: bool, guard: Guard, log=print) -> dict:
    batch, seconds = (2, 1.0) if quick else (80, 10.0)        # 800 s of audio per step, the paper's batch
    rows = []
    plan = [(p, False, False) for p in PRESETS] + [("xlarge", False, True)]
    plan += [(p, True, False) for p in ["base", "small", "large"]]
    estimate = {"small": 40, "base": 50, "large": 70}             # seconds a compiled run needs (guess, GPU)
    for preset, compile_, fsdp in plan:
        need = 3.0 if quick else (estimate.get(preset, 60) if compile_ else 15.0)
        what = dict(preset=preset, compile=compile_, fsdp=fsdp)
        if compile_ and quick:
            rows.append(skipped("--quick: torch.compile takes minutes on a 2-core CPU; the GPU run compiles", **what))
            continue
        if not guard.allows(need):
            rows.append(skipped(guard.reason(need), **what))
            continue
        try:
            if fsdp:
                with _single_process_group(device):
                    r = _one(preset, device, quick, batch, seconds, compile_, fsdp)
            else:
                r = _one(preset, device, quick, batch, seconds, compile_, fsdp)
        except Exception as exc:   # one failing configuration must not cost the others' figures
            free_memory(device)
            r = skipped(f"out of memory at batch {batch}", **what) if is_oom(exc) else \
                {**what, "failed": f"{type(exc).__name__}: {str(exc)[:500]}"}
            log(f"  train {preset}: {r.get('failed') or r.get('skipped')}")
        rows.append(r)
        if "mfu" in r:
            log(f"  train {preset}{' compiled' if compile_ else ''}{' fsdp2' if fsdp else ''}: {r['step_s']:.3f} s/step, "
                f"{r['audio_s_per_s']:.0f} s audio/s, MFU {100 * r['mfu']:.1f}%")
    return {"status": "measured", "batch": batch, "clip_seconds": seconds,
            "precision": "bf16 autocast" if (device.type == "cuda" or quick) else "float32",
            "targets": "cached (fixed tensors shaped like the paper's stage-1 teachers)",
            "compile": "torch.compile(model, dynamic=False); the trainer's dynamic=True raised an InductorError "
                       "on torch 2.13 CPU",
            "results": rows}
