"""The distillation recipe: one readable training loop (stage 1 and stage 2), torchrun-native.

    cfg = load_config("offline-small.yaml", ["train.max_steps=100"])
    result = train(cfg)            # or: torchrun --nproc_per_node=N -m usad distill --config ...

Each optimiser step: ``grad_accum`` micro-batches; per micro-batch the frozen teachers give targets (no grad),
the student + heads predict them, the domain-weighted L1-cos loss is back-propagated
(:func:`usad.distill.objective.loss_step`). Then clipping, AdamW, warm-up + linear decay. Checkpoints every
``ckpt_every`` steps (atomic, exact resume); a wall-clock budget (``max_minutes``) stops every rank at the same
step. The student ends in ``out_dir/student`` (Encoder format), the heads in ``out_dir/heads``.
"""
from __future__ import annotations

import contextlib
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import yaml
from torch.distributed.checkpoint.state_dict import get_model_state_dict

from usad.distill import checkpointing as ckpt
from usad.distill import target_stats
from usad.distill.config import DistillConfig
from usad.distill.data import Batch, config_cuts, make_loader
from usad.distill.distributed import DistEnv, all_gather_objects, max_over_ranks, setup, teardown, wrap_model
from usad.distill.flops import train_flops
from usad.distill.head_init import fit_heads
from usad.distill.heads import HeadSet
from usad.distill.objective import ObjectiveResult, loss_step
from usad.distill.progress import Clock, ProgressLog, Window
from usad.distill.resume import check_resume
from usad.distill.sharded_checkpoint import restore_weights
from usad.distill.student import (DistillModel, build_student, export_run, freeze_student, param_groups,
                                  student_config)
from usad.distill.teacher_set import build_teachers
from usad.distill.train_stream import open_stream
from usad.distill.weights import domain_weights
from usad.io import atomic_write_text
from usad.peak import peak_flops


@dataclass
class TrainResult:
    step: int
    last_loss: float
    student_dir: Path | None
    heads_dir: Path | None
    model: DistillModel            # unwrapped student + heads of this rank (for tests and notebooks)
    stopped_by: str                # "max_steps" | "max_minutes"


def lr_factor(step: int, warmup: int, max_steps: int, time_fraction: float = 0.0) -> float:
    """Linear warm-up to 1 over ``warmup`` steps, then linear decay to 0 at ``max_steps`` or, when a wall-clock
    budget drives the decay, at the end of the budget (``time_fraction`` = elapsed / budget), whichever is first."""
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    progress = max((step - warmup) / max(1, max_steps - warmup), time_fraction)
    return max(0.0, 1.0 - progress)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def train(cfg: DistillConfig) -> TrainResult:
    env = setup(cfg.train.device)
    try:
        recipe = DistillRecipe(cfg, env)
        recipe.setup()
        return recipe.train()
    finally:
        teardown()


class DistillRecipe:
    """One run on one rank and everything it holds: teachers, student + heads (as wrapped for DDP/FSDP), optimiser,
    LR schedule, data stream, target statistics, clock and log. ``setup`` builds them (resuming when a checkpoint
    exists), ``train`` runs the loop, ``save_checkpoint`` writes what a resume continues from."""

    def __init__(self, cfg: DistillConfig, env: DistEnv) -> None:
        self.cfg, self.env = cfg, env
        self.out_dir = Path(cfg.train.out_dir)
        self.step = 0
        self.time_fraction = 0.0   # elapsed / budget, agreed by all ranks at the start of each step (LR decay)

    # ---- setup -------------------------------------------------------------------------------------------
    def setup(self) -> None:
        cfg, env, tc, oc = self.cfg, self.env, self.cfg.train, self.cfg.optim
        seed_everything(tc.seed)
        self.bf16 = tc.precision == "bf16" or (tc.precision == "auto" and env.device.type == "cuda")
        teacher_dtype = {"bf16": torch.bfloat16, "fp32": None}.get(
            tc.teacher_dtype, torch.bfloat16 if env.device.type == "cuda" else None)
        self.slots = build_teachers(cfg.teachers, student_config(cfg.student).num_layers, cfg.stage, env.device,
                                    teacher_dtype, cfg.cache_root)
        self.scales = {t.name: t.weight for t in cfg.teachers}
        seed_everything(tc.seed)  # loading teachers may draw random numbers; the student must not depend on that
        student = build_student(cfg.student)
        frozen = freeze_student(student, list(oc.freeze))
        if frozen and env.is_main:
            weights = sum(p.numel() for p in student.parameters() if not p.requires_grad)
            print(f"optim.freeze: {len(frozen)} student parameters keep their initial values ({weights:,} weights)",
                  flush=True)
        self.heads = HeadSet(student.config.dim, {s.name: s.pairs for s in self.slots},
                             {s.name: s.dims for s in self.slots}, cfg.heads.hidden)
        self.model = DistillModel(student, self.heads).to(env.device)
        if self.model.depth < student.config.num_layers and env.is_main:
            print(f"warning: no head reads student blocks {self.model.depth + 1}..{student.config.num_layers}; "
                  f"they stay untrained (check teachers[].mapping / k)", flush=True)
        if env.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        cuts = config_cuts(cfg.data)
        resume_from = ckpt.resume_checkpoint(tc.resume, self.out_dir)
        with torch.random.fork_rng(devices=[]):   # reading batches for statistics must not shift the random streams
            self.stats = target_stats.for_run(cfg, self.slots, cuts, self.out_dir, env)
            if cfg.heads.init == "ridge" and resume_from is None:   # a resumed run has its trained heads
                self._fit_heads(cuts)
        self.num_params = sum(p.numel() for p in self.model.parameters())
        self.num_trainable = sum(p.numel() for p in self.model.parameters() if p.requires_grad)
        self.wrapped = wrap_model(self.model, tc.fsdp, env, self.bf16)
        fused = oc.fused if oc.fused is not None else env.device.type == "cuda"
        self.optimizer = torch.optim.AdamW(param_groups(self.wrapped, oc), lr=oc.lr, betas=tuple(oc.betas),
                                           weight_decay=oc.weight_decay, fused=fused or None)
        self.budget_s = tc.max_minutes * 60.0 if tc.max_minutes else None
        by_time = self.budget_s is not None and oc.decay_over in ("time", "auto")
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda s: lr_factor(
            s, oc.warmup_steps, tc.max_steps, self.time_fraction if by_time else 0.0))
        self.forward = torch.compile(self.wrapped, dynamic=True) if tc.compile else self.wrapped
        positions, elapsed, rngs = self._restore(resume_from)

        if env.is_main:
            atomic_write_text(self.out_dir / "config.yaml", yaml.safe_dump(cfg.to_dict(), sort_keys=False))
        # the CPU peak is a measured matmul rate: measure it before the data workers start taking a core
        self.peak = peak_flops(env.device, "bfloat16" if self.bf16 else "float32", tc.peak_tflops)[0] \
            if env.is_main else 1.0
        self.stream = open_stream(cfg, cuts, env, positions)   # this rank's batches; Shar: its own shards only
        self.progress = ProgressLog(str(self.out_dir / "tensorboard") if tc.tensorboard else None,
                                    enabled=env.is_main)
        self.clock = Clock(elapsed)
        self.window = Window()
        if rngs is not None:  # restored last, so nothing above can shift the random streams
            ckpt.set_rng_state(rngs[env.rank % len(rngs)])

    def _restore(self, path: Path | None) -> tuple[list | None, float, list | None]:
        """Weights, optimiser, schedule and step from the checkpoint ``path`` to resume from, if any; returns the
        data positions (one per rank of the run that saved it), the elapsed seconds and the RNG states it saved."""
        if path is None:
            return None, 0.0, None
        state = ckpt.load_training_checkpoint(path)
        check_resume(self.cfg, path, state, self.model, self.env.world_size)  # refuse changed settings, naming them
        restore_weights(path, state, self.wrapped, self.optimizer)     # either format, any number of ranks
        self.scheduler.load_state_dict(state["scheduler"])
        self.step = int(state["step"])
        if self.env.is_main:
            print(f"resumed from {path} at step {self.step}", flush=True)
        return state["positions"], float(state.get("elapsed", 0.0)), state["rng"]

    def _fit_heads(self, cuts) -> None:
        """``heads.init: ridge``: fit the heads' output layers to the initial student (before DDP/FSDP wrap it);
        every rank reads the same seeded batches and so fits the same heads."""
        d = self.cfg.data
        loader = iter(make_loader(cuts, max_duration=d.max_duration, num_buckets=d.num_buckets,
                                  seed=self.cfg.train.seed + 2, num_workers=0))
        t0 = time.monotonic()
        fitted = fit_heads(self.model.student, self.heads, (next(loader) for _ in range(self.cfg.heads.init_batches)),
                           self._targets, self._weights, self.env.device)
        if self.env.is_main:
            print(f"heads fitted by ridge regression on {self.cfg.heads.init_batches} batches in "
                  f"{time.monotonic() - t0:.0f} s: " + ", ".join(f"{k} {n} frames, ridge {r:g}"
                                                                  for k, (n, r) in fitted.items()), flush=True)

    # ---- one micro-batch ---------------------------------------------------------------------------------
    def _targets(self, batch: Batch, wav: torch.Tensor, lengths: torch.Tensor) -> dict:
        """Every teacher's targets for ``batch``, in the statistics' space (what the loss compares with)."""
        targets = {}
        for s in self.slots:
            out = s.teacher(wav, lengths, s.layers, ids=batch.ids, offsets=batch.offsets)
            out.features = {k: self.stats.apply(s.name, k, v.float()) for k, v in out.features.items()}
            targets[s.name] = out
        return targets

    def _weights(self, batch: Batch) -> torch.Tensor:
        """(B, M) domain weights of ``batch``'s clips for the teachers, in slot order."""
        return domain_weights([s.domain for s in self.slots], batch.domains, self.cfg.loss.omega,
                              self.cfg.loss.any_policy).to(self.env.device)

    def _loss_step(self, batch: Batch, sync: bool) -> ObjectiveResult:
        """Teacher targets (in the statistics' space) for ``batch``, the student's loss, and its gradients
        (scaled for accumulation; DDP synchronises them only when ``sync``)."""
        env, cfg = self.env, self.cfg
        wav = batch.wav.to(env.device, non_blocking=True)
        lengths = batch.lengths.to(env.device)
        targets = self._targets(batch, wav, lengths)
        weights = self._weights(batch)
        no_sync = not sync and hasattr(self.wrapped, "no_sync")
        with self.wrapped.no_sync() if no_sync else contextlib.nullcontext():
            res = loss_step(self.forward, wav, lengths, targets, weights, [s.name for s in self.slots], self.scales,
                            bf16=self.bf16 and not cfg.train.fsdp, clip_ids=batch.ids)
            (res.loss / cfg.optim.grad_accum).backward()
        return res

    # ---- the loop ----------------------------------------------------------------------------------------
    def train(self) -> TrainResult:
        env, tc, oc = self.env, self.cfg.train, self.cfg.optim
        config = self.model.student.config
        last_loss, stopped_by, saved_at = float("nan"), "max_steps", -1
        while self.step < tc.max_steps:
            if self.budget_s is not None:
                self.time_fraction = max_over_ranks(self.clock.elapsed, env) / self.budget_s
                if self.time_fraction >= 1.0:
                    stopped_by = "max_minutes"
                    break
            self.optimizer.zero_grad(set_to_none=True)
            step_loss, step_teach = 0.0, {}
            for micro in range(oc.grad_accum):
                batch = next(self.stream)
                res = self._loss_step(batch, sync=micro == oc.grad_accum - 1)
                step_loss += float(res.loss.detach()) / oc.grad_accum
                for k, v in res.per_teacher.items():
                    step_teach[k] = step_teach.get(k, 0.0) + v / oc.grad_accum
                self.window.audio += batch.seconds * env.world_size
                self.window.flops += train_flops(self.num_params, config.num_layers, config.dim, res.student_frames,
                                                 self.num_trainable)
            if oc.clip_norm and oc.clip_norm > 0:
                torch.nn.utils.clip_grad_norm_(self.wrapped.parameters(), oc.clip_norm)
            self.optimizer.step()
            self.scheduler.step()
            self.step += 1
            last_loss = step_loss
            self.window.add_step(step_loss, step_teach)
            if self.step % tc.log_every == 0 or self.step == tc.max_steps:
                self._log()
            if tc.ckpt_every and self.step % tc.ckpt_every == 0:
                self.save_checkpoint()
                saved_at = self.step
        if saved_at != self.step:
            self.save_checkpoint()
        student_dir = heads_dir = None
        full = get_model_state_dict(self.wrapped, options=ckpt.FULL_ON_CPU)
        if env.is_main:
            student_dir, heads_dir = export_run(self.out_dir, full, config, self.heads, self.cfg.heads.hidden)
            print(f"done: step {self.step} ({stopped_by}); student -> {student_dir}; heads -> {heads_dir}",
                  flush=True)
        self.progress.close()
        return TrainResult(self.step, last_loss, student_dir, heads_dir, self.model, stopped_by)

    def _log(self) -> None:
        tc, w = self.cfg.train, self.window
        dt = max(1e-9, time.monotonic() - w.t0)
        n = max(1, w.n)
        eta = (tc.max_steps - self.step) * dt / n
        if tc.max_minutes:
            eta = min(eta, tc.max_minutes * 60.0 - self.clock.elapsed)
        self.progress.log(self.step, tc.max_steps, w.loss / n, {k: v / n for k, v in w.teach.items()},
                          self.scheduler.get_last_lr()[0], w.audio / dt, w.flops / dt / self.peak if self.peak
                          else 0.0, eta, floors=self.stats.floor)
        self.window = Window()

    def save_checkpoint(self) -> None:
        """Every rank's data position and RNG state with the weights, optimiser and schedule: FSDP runs write
        their shards (torch.distributed.checkpoint), others one file from rank 0."""
        env, tc = self.env, self.cfg.train
        state = {"step": self.step, "scheduler": self.scheduler.state_dict(),
                 "positions": all_gather_objects(self.stream.position, env),
                 "rng": all_gather_objects(ckpt.rng_state(), env), "elapsed": self.clock.elapsed}
        save = ckpt.save_sharded_checkpoint if tc.fsdp else ckpt.save_full_checkpoint
        save(self.out_dir, self.step, self.wrapped, self.optimizer, state, env, keep=tc.keep_checkpoints)
