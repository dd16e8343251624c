"""The distillation recipe: one readable training loop (stage 1 and stage 2), torchrun-native.

    cfg = load_config("offline-small.yaml", ["train.max_steps=100"])
    result = train(cfg)            # or: torchrun --nproc_per_node=N -m usad distill --config ...

Each optimiser step: ``grad_accum`` micro-batches; per micro-batch the frozen teachers give targets (no grad),
the student + heads predict them, the domain-weighted L1-cos loss is back-propagated. Then clipping, AdamW,
warm-up + linear decay. Checkpoints every ``ckpt_every`` steps (atomic, exact resume); a wall-clock budget
(``max_minutes``) stops every rank at the same step. The student ends in ``out_dir/student`` (Encoder format),
the heads in ``out_dir/heads``.
"""
from __future__ import annotations

import contextlib
import math
import random
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import yaml
from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict, get_optimizer_state_dict

from usad.distill import checkpointing as ckpt
from usad.distill import data as data_mod
from usad.distill.config import DistillConfig
from usad.distill.distributed import DistEnv, all_gather_objects, ensure_group, max_over_ranks, setup, teardown
from usad.distill.flops import train_flops
from usad.distill.heads import HeadSet
from usad.distill.objective import multi_teacher_loss
from usad.distill.progress import Clock, ProgressLog
from usad.distill.resume import check_resume
from usad.distill.sharded_checkpoint import restore_weights
from usad.distill.student import DistillModel, build_student, param_groups, save_heads, student_config
from usad.distill.target_stats import STATS_FILE, TargetStats, from_batches, from_cache
from usad.distill.teacher_set import TeacherSlot, build_teachers
from usad.distill.train_stream import open_stream
from usad.distill.weights import domain_weights
from usad.errors import NonFiniteError
from usad.io import atomic_write_text
from usad.model import Encoder
from usad.peak import peak_flops

FULL = StateDictOptions(full_state_dict=True, cpu_offload=True)


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


def _build_cuts(cfg: DistillConfig):
    d = cfg.data
    if not d.train and not d.shar:
        raise ValueError("config data: give data.train (JSONL manifests) or data.shar (lhotse Shar dirs)")
    sources = []
    if d.train:
        sources.append(data_mod.manifest_cuts(d.train))
    if d.shar:
        sources.append(data_mod.read_shar(d.shar))
    source = sources[0] if len(sources) == 1 else data_mod.CutSet(data_mod._Chain(sources))
    return data_mod.training_cuts(source, d.crop_seconds, d.min_seconds, d.upsample)


def _wrap(model: DistillModel, cfg: DistillConfig, env: DistEnv, use_bf16: bool):
    if cfg.train.fsdp:
        from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

        mp = MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32) if use_bf16 else None
        kw = {"mp_policy": mp} if mp is not None else {}
        ensure_group(env)
        for block in model.student.blocks:
            fully_shard(block, **kw)
        fully_shard(model, **kw)
        return model
    if env.distributed:
        ids = [env.device.index] if env.device.type == "cuda" else None
        unused = model.depth < model.student.config.num_layers   # blocks above the deepest head get no grad
        return torch.nn.parallel.DistributedDataParallel(model, device_ids=ids, find_unused_parameters=unused)
    return model


def _precision(cfg: DistillConfig, env: DistEnv) -> bool:
    p = cfg.train.precision
    return p == "bf16" or (p == "auto" and env.device.type == "cuda")


def train(cfg: DistillConfig) -> TrainResult:
    env = setup(cfg.train.device)
    try:
        return _train(cfg, env)
    finally:
        teardown()


def _train(cfg: DistillConfig, env: DistEnv) -> TrainResult:
    tc, oc = cfg.train, cfg.optim
    out_dir = Path(tc.out_dir)
    seed_everything(tc.seed)
    use_bf16 = _precision(cfg, env)
    tdt = {"bf16": torch.bfloat16, "fp32": None}.get(tc.teacher_dtype,
                                                     torch.bfloat16 if env.device.type == "cuda" else None)

    slots = build_teachers(cfg.teachers, student_config(cfg.student).num_layers, cfg.stage, env.device, tdt,
                           cfg.cache_root)
    seed_everything(tc.seed)  # loading teachers may draw random numbers; the student must not depend on that
    student = build_student(cfg.student)
    heads = HeadSet(student.config.dim, {s.name: s.pairs for s in slots}, {s.name: s.dims for s in slots},
                    cfg.heads.hidden)
    model = DistillModel(student, heads).to(env.device)
    if model.depth < student.config.num_layers and env.is_main:
        print(f"warning: no head reads student blocks {model.depth + 1}..{student.config.num_layers}; they stay "
              f"untrained (check teachers[].mapping / k)", flush=True)
    num_params = sum(p.numel() for p in model.parameters())
    wrapped = _wrap(model, cfg, env, use_bf16)
    fused = oc.fused if oc.fused is not None else env.device.type == "cuda"
    optimizer = torch.optim.AdamW(param_groups(wrapped, oc), lr=oc.lr, betas=tuple(oc.betas),
                                  weight_decay=oc.weight_decay, fused=fused or None)
    budget_s = tc.max_minutes * 60.0 if tc.max_minutes else None
    decay_by_time = budget_s is not None and (oc.decay_over == "time" or oc.decay_over == "auto")
    agreed = {"fraction": 0.0}  # elapsed / budget, agreed by all ranks at the start of each step
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(
        s, oc.warmup_steps, tc.max_steps, agreed["fraction"] if decay_by_time else 0.0))
    forward = torch.compile(wrapped, dynamic=True) if tc.compile else wrapped

    step, before, positions = 0, 0.0, None
    resume_from = _resume_path(tc, out_dir)
    if resume_from is not None:
        state = ckpt.load_training_checkpoint(resume_from)
        check_resume(cfg, resume_from, state, model, env.world_size)  # refuse changed settings, naming them
        restore_weights(resume_from, state, wrapped, optimizer)     # either format, any number of ranks
        scheduler.load_state_dict(state["scheduler"])
        step, before = int(state["step"]), float(state.get("elapsed", 0.0))
        positions = state["positions"]                               # one per rank of the run that saved it
        if env.is_main:
            print(f"resumed from {resume_from} at step {step}", flush=True)

    if env.is_main:
        out_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out_dir / "config.yaml", yaml.safe_dump(cfg.to_dict(), sort_keys=False))
    cuts = _build_cuts(cfg)
    with torch.random.fork_rng(devices=[]):   # reading batches for statistics must not shift the random streams
        stats = _target_stats(cfg, slots, cuts, out_dir, env)
    stream = open_stream(cfg, cuts, env, positions)   # this rank's batches; Shar: its own shards only
    log = ProgressLog(str(out_dir / "tensorboard") if tc.tensorboard else None, enabled=env.is_main)
    peak_dtype = "bfloat16" if use_bf16 else "float32"
    peak, _ = peak_flops(env.device, peak_dtype, tc.peak_tflops) if env.is_main else (1.0, "")
    order = [s.name for s in slots]
    domains = [s.domain for s in slots]
    clock = Clock(before)
    window = {"audio": 0.0, "flops": 0.0, "t0": time.monotonic(), "loss": 0.0, "teach": {}, "n": 0}
    last_loss, stopped_by, saved_at = float("nan"), "max_steps", -1
    if resume_from is not None:  # restored last, so nothing above can shift the random streams
        ckpt.set_rng_state(state["rng"][env.rank % len(state["rng"])])

    while step < tc.max_steps:
        if budget_s is not None:
            agreed["fraction"] = max_over_ranks(clock.elapsed, env) / budget_s
            if agreed["fraction"] >= 1.0:
                stopped_by = "max_minutes"
                break
        optimizer.zero_grad(set_to_none=True)
        step_loss, step_teach = 0.0, {}
        for micro in range(oc.grad_accum):
            batch = next(stream)
            res, frames = _micro_step(forward, wrapped, batch, slots, order, domains, cfg, env, use_bf16,
                                      stats, sync=micro == oc.grad_accum - 1)
            step_loss += float(res.loss.detach()) / oc.grad_accum
            for k, v in res.per_teacher.items():
                step_teach[k] = step_teach.get(k, 0.0) + v / oc.grad_accum
            window["audio"] += batch.seconds * env.world_size
            window["flops"] += train_flops(num_params, student.config.num_layers, student.config.dim, frames)
        if oc.clip_norm and oc.clip_norm > 0:
            torch.nn.utils.clip_grad_norm_(wrapped.parameters(), oc.clip_norm)
        optimizer.step()
        scheduler.step()
        step += 1
        last_loss = step_loss
        window["loss"] += step_loss
        window["n"] += 1
        for k, v in step_teach.items():
            window["teach"][k] = window["teach"].get(k, 0.0) + v
        if step % tc.log_every == 0 or step == tc.max_steps:
            _log(log, window, step, tc, scheduler, clock, peak, env, stats.floor)
        if tc.ckpt_every and step % tc.ckpt_every == 0:
            _save(out_dir, step, wrapped, optimizer, scheduler, stream.position, clock, env, tc)
            saved_at = step
    if saved_at != step:
        _save(out_dir, step, wrapped, optimizer, scheduler, stream.position, clock, env, tc)
    student_dir = heads_dir = None
    full = get_model_state_dict(wrapped, options=FULL)
    if env.is_main:
        student_dir, heads_dir = _export(out_dir, full, student, heads, cfg)
        print(f"done: step {step} ({stopped_by}); student -> {student_dir}; heads -> {heads_dir}", flush=True)
    log.close()
    return TrainResult(step, last_loss, student_dir, heads_dir, model, stopped_by)


def _resume_path(tc, out_dir: Path):
    if tc.resume == "never":
        return None
    if tc.resume == "auto":
        return ckpt.latest_checkpoint(out_dir)
    if not Path(tc.resume).is_file():
        raise FileNotFoundError(f"train.resume={tc.resume!r}: no such checkpoint file")
    return Path(tc.resume)


def _target_stats(cfg: DistillConfig, slots: list[TeacherSlot], cuts, out_dir: Path, env) -> TargetStats:
    """The run's target statistics and constant-prediction floors: reloaded from the run folder when it has them
    (resume), else computed from the feature caches (or a few live batches) and saved there."""
    saved = TargetStats.load(out_dir)
    if saved is not None and saved.norm == cfg.loss.target_norm and set(saved.floor) == {s.name for s in slots}:
        return saved
    cached = {s.name: (s.teacher, s.layers) for s in slots if hasattr(s.teacher, "index")}
    stats = from_cache(cfg.loss.target_norm, cached) if cached else TargetStats(cfg.loss.target_norm)
    live = [s for s in slots if s.name not in cached]
    if live:   # rank 0 reads a few batches; every rank uses its statistics
        got = None
        if env.is_main:
            d = cfg.data
            loader = data_mod.make_loader(cuts, max_duration=d.max_duration, num_buckets=d.num_buckets,
                                          seed=cfg.train.seed + 1, num_workers=0)
            it = iter(loader)
            got = from_batches(cfg.loss.target_norm, live, (next(it) for _ in range(cfg.loss.stats_batches)),
                               env.device)
        got = all_gather_objects(got, env)[0]
        stats.stats.update(got.stats)
        stats.floor.update(got.floor)
    if env.is_main:
        stats.save(out_dir)
    return stats


def _micro_step(forward, wrapped, batch, slots: list[TeacherSlot], order, domains, cfg, env, use_bf16,
                stats: TargetStats, sync):
    wav = batch.wav.to(env.device, non_blocking=True)
    lengths = batch.lengths.to(env.device)
    targets = {}
    for s in slots:
        out = s.teacher(wav, lengths, s.layers, ids=batch.ids, offsets=batch.offsets)
        out.features = {k: stats.apply(s.name, k, v.float()) for k, v in out.features.items()}
        targets[s.name] = out
    weights = domain_weights(domains, batch.domains, cfg.loss.omega, cfg.loss.any_policy).to(env.device)
    no_sync = (not sync) and hasattr(wrapped, "no_sync")
    ctx = wrapped.no_sync() if no_sync else contextlib.nullcontext()
    amp = torch.autocast(env.device.type, dtype=torch.bfloat16) if use_bf16 and not cfg.train.fsdp \
        else contextlib.nullcontext()
    with ctx:
        with amp:
            predictions, mask = forward(wav, lengths)
        rate = wrapped.module.student.frame_rate if hasattr(wrapped, "module") else wrapped.student.frame_rate
        res = multi_teacher_loss(predictions, mask, rate, targets, weights, order,
                                 {t.name: t.weight for t in cfg.teachers})
        if not torch.isfinite(res.loss):
            raise NonFiniteError(f"non-finite loss ({float(res.loss)}) on clips {batch.ids[:4]}...: lower "
                                     f"optim.lr, check the audio, or use train.precision=fp32")
        (res.loss / cfg.optim.grad_accum).backward()
    return res, mask.sum(dim=1).cpu()


def _log(log: ProgressLog, window: dict, step: int, tc, scheduler, clock: Clock, peak: float, env,
         floors: dict[str, float]) -> None:
    dt = max(1e-9, time.monotonic() - window["t0"])
    n = max(1, window["n"])
    audio_per_s = window["audio"] / dt
    mfu = window["flops"] / dt / peak if peak else 0.0
    sec_per_step = dt / n
    eta = (tc.max_steps - step) * sec_per_step
    if tc.max_minutes:
        eta = min(eta, tc.max_minutes * 60.0 - clock.elapsed)
    log.log(step, tc.max_steps, window["loss"] / n, {k: v / n for k, v in window["teach"].items()},
            scheduler.get_last_lr()[0], audio_per_s, mfu, eta, floors=floors)
    window.update(audio=0.0, flops=0.0, t0=time.monotonic(), loss=0.0, teach={}, n=0)


def _save(out_dir, step, wrapped, optimizer, scheduler, position, clock, env, tc) -> None:
    positions = all_gather_objects(position, env)
    rngs = all_gather_objects(ckpt.rng_state(), env)
    state = {"step": step, "scheduler": scheduler.state_dict(), "positions": positions, "rng": rngs,
             "elapsed": clock.elapsed}
    if tc.fsdp:   # every rank writes its own shards (torch.distributed.checkpoint)
        ckpt.save_sharded_checkpoint(out_dir, step, wrapped, optimizer, state, env, keep=tc.keep_checkpoints)
        return
    model_sd = get_model_state_dict(wrapped, options=FULL)
    optim_sd = get_optimizer_state_dict(wrapped, optimizer, options=FULL)
    if env.is_main:
        state.update(model=model_sd, optimizer=optim_sd)
        ckpt.save_training_checkpoint(out_dir, step, state, keep=tc.keep_checkpoints)
    if env.distributed:
        torch.distributed.barrier()


def _export(out_dir: Path, full: dict, student: Encoder, heads: HeadSet, cfg: DistillConfig):
    s_state = {k[len("student."):]: v for k, v in full.items() if k.startswith("student.")}
    h_state = {k[len("heads."):]: v for k, v in full.items() if k.startswith("heads.")}
    clean = Encoder(student.config)
    clean.load_state_dict(s_state)
    student_dir = out_dir / "student"
    clean.save_pretrained(student_dir)
    heads_dir = save_heads(out_dir / "heads", heads, h_state, student.config.dim, cfg.heads.hidden)
    if (out_dir / STATS_FILE).is_file():   # the heads predict targets in the statistics' space
        shutil.copyfile(out_dir / STATS_FILE, heads_dir / STATS_FILE)
    return student_dir, heads_dir
