"""``hf:<local dir or hub id>``: audio encoders from transformers (WavLM, HuBERT, wav2vec2, data2vec-audio, Whisper
encoders of any size, and any transformers audio model with a stack of layers).

Offline first: with HF_HUB_OFFLINE=1 (or a local folder) nothing is fetched. Layer l = output of transformer layer l
(l = 1..L; layer L is the model's ``last_hidden_state``, i.e. after a final LayerNorm where the model has one);
layer 0 = the input to layer 1. ``feature="ffn"`` returns each layer's feed-forward branch output instead.
The model runs only up to the deepest requested layer (forward hooks stop it there).
- Whisper: our Whisper log-mel (n_mels from the config), 30 s padding, output cropped to the valid frames; longer
  clips in 30 s windows.
- wav2vec2 family: the feature extractor's normalisation per clip on its valid samples; models whose feature
  extractor returns no attention mask or whose conv stem uses group norm (the "base" models), and data2vec-audio, run clip by clip, so a clip gives
  the same features alone or in a padded batch. Frame rate = sample rate / product of the conv strides.
"""
from __future__ import annotations

import math
import os

import torch
from torch import nn

from .assets import TeacherUnavailable, module_available
from .base import Teacher, TeacherInfo, TeacherOutput
from .batching import lengths_to_mask, resample_batch

_FFN_NAMES = ("feed_forward", "mlp", "ffn", "fc2")


class _Stop(Exception):
    pass


def check_available(source: str) -> None:
    module_available("transformers", "transformers")
    if not os.path.isdir(source) and os.environ.get("HF_HUB_OFFLINE") == "1":
        from huggingface_hub import try_to_load_from_cache

        if not isinstance(try_to_load_from_cache(source, "config.json"), str):
            raise TeacherUnavailable(f"hf:{source}: not a local folder and not in the Hugging Face cache while "
                                     "HF_HUB_OFFLINE=1; download it on a connected machine or pass a local folder")


def _local_only(source: str) -> bool:
    return os.path.isdir(source) or os.environ.get("HF_HUB_OFFLINE") == "1"


def _layer_list(model: nn.Module, n: int) -> nn.ModuleList:
    for name, mod in model.named_modules():
        if isinstance(mod, nn.ModuleList) and len(mod) == n and "decoder" not in name:
            return mod
    raise TeacherUnavailable(f"could not find the {n} encoder layers in {type(model).__name__}; wrap it with a "
                             "custom Teacher (docs/teachers.md)")


def _ffn_module(layer: nn.Module) -> nn.Module:
    for name in _FFN_NAMES:
        if hasattr(layer, name) and isinstance(getattr(layer, name), nn.Module):
            return getattr(layer, name)
    raise ValueError(f"{type(layer).__name__} has no feed-forward submodule named one of {_FFN_NAMES}")


class HFTeacher(Teacher):
    def __init__(self, source: str, feature: str = "hidden", domain: str = "any", frame_rate: float | None = None,
                 name: str | None = None, licence: str = "see the model card") -> None:
        super().__init__()
        check_available(source)
        if feature not in ("hidden", "ffn"):
            raise ValueError(f"hf:{source}: feature must be 'hidden' or 'ffn', got {feature!r}")
        from transformers import AutoConfig, AutoModel

        local = _local_only(source)
        try:
            config = AutoConfig.from_pretrained(source, local_files_only=local)
            model = AutoModel.from_pretrained(source, local_files_only=local)
        except OSError as e:
            raise TeacherUnavailable(f"hf:{source}: cannot load ({e}); check the folder or hub id") from e
        self.is_whisper = config.model_type == "whisper"
        self.model = model.get_encoder() if self.is_whisper else model
        self.model.eval()
        n = getattr(config, "encoder_layers", None) if self.is_whisper else getattr(config, "num_hidden_layers", None)
        if n is None:
            raise TeacherUnavailable(f"hf:{source}: config has no layer count (num_hidden_layers)")
        self.layers_list = _layer_list(self.model, n)
        width = getattr(config, "d_model", None) or getattr(config, "hidden_size")
        fe = self._feature_extractor(source, local)
        self.sample_rate = int(getattr(fe, "sampling_rate", 16000) or 16000)
        self.do_normalize = bool(getattr(fe, "do_normalize", False)) and not self.is_whisper
        # Batched only where padding provably cannot leak: an attention mask and a layer-norm conv stem. Group-norm
        # stems (the "base" models) and data2vec-audio's stacked positional convs see the padding: clip by clip.
        self.batched = self.is_whisper or (bool(getattr(fe, "return_attention_mask", False))
                                           and getattr(config, "feat_extract_norm", None) == "layer")
        if self.is_whisper:
            rate = 50.0 * 3000 / (2 * config.max_source_positions) if frame_rate is None else frame_rate
            self.n_mels = config.num_mel_bins
        else:
            strides = getattr(config, "conv_stride", None)
            if frame_rate is None and strides is None:
                raise TeacherUnavailable(f"hf:{source}: no conv_stride in its config; pass frame_rate=")
            rate = frame_rate or self.sample_rate / math.prod(strides)
        dims = {l: width for l in (range(n + 1) if feature == "hidden" else range(1, n + 1))}
        self.info = TeacherInfo(name=name or f"hf:{source}", domain=domain, sample_rate=self.sample_rate,
                                frame_rate=float(rate), num_layers=n, dims=dims, feature=feature, licence=licence,
                                extra={"model_type": config.model_type, "batched": self.batched})
        self.freeze()

    @staticmethod
    def _feature_extractor(source: str, local: bool):
        try:
            from transformers import AutoFeatureExtractor

            return AutoFeatureExtractor.from_pretrained(source, local_files_only=local)
        except (OSError, ValueError, KeyError):
            return None

    # ---- running the encoder with hooks ------------------------------------------------------------------
    def _run(self, inputs: dict, layers: list[int]) -> dict[int, torch.Tensor]:
        L, k = self.info.num_layers, max(layers)
        got: dict[int, torch.Tensor] = {}
        hooks = []

        def grab(i, stop):
            def hook(mod, args, out):
                got[i] = out[0] if isinstance(out, tuple) else out
                if stop:
                    raise _Stop

            return hook

        if self.info.feature == "hidden":
            if 0 in layers:
                def pre(mod, args, kwargs):
                    got[0] = args[0] if args else kwargs["hidden_states"]
                    if k == 0:
                        raise _Stop
                hooks.append(self.layers_list[0].register_forward_pre_hook(pre, with_kwargs=True))
            for i in layers:
                if 0 < i < L:
                    hooks.append(self.layers_list[i - 1].register_forward_hook(grab(i, i == k)))
        else:
            for i in layers:
                hooks.append(_ffn_module(self.layers_list[i - 1]).register_forward_hook(grab(i, False)))
            if k < L:  # stop once layer k has finished
                hooks.append(self.layers_list[k - 1].register_forward_hook(grab(-1, True)))
        try:
            out = self.model(**inputs)
            if self.info.feature == "hidden" and L in layers:
                got[L] = out.last_hidden_state
        except _Stop:
            pass
        finally:
            for h in hooks:
                h.remove()
        return {l: got[l] for l in layers}

    def _forward(self, wav: torch.Tensor, lengths: torch.Tensor, layers: list[int]) -> TeacherOutput:
        wav, lengths = resample_batch(wav.float(), lengths, 16000, self.sample_rate)
        if self.is_whisper:
            return self._forward_whisper(wav, lengths, layers)
        if self.do_normalize:
            wav = wav.clone()
            for b, n in enumerate(lengths.tolist()):
                x = wav[b, :n]
                wav[b, :n] = (x - x.mean()) / torch.sqrt(x.var(unbiased=False) + 1e-7)
        dtype = next(self.model.parameters()).dtype
        counts = self.model._get_feat_extract_output_lengths(lengths).long().tolist()
        T = max(counts)
        if self.batched:
            amask = lengths_to_mask(lengths, wav.shape[1]).long()
            runs = [(list(range(wav.shape[0])), {"input_values": wav.to(dtype), "attention_mask": amask})]
        else:
            runs = [([b], {"input_values": wav[b: b + 1, :n].to(dtype)}) for b, n in enumerate(lengths.tolist())]
        feats = {l: None for l in layers}
        for rows, inputs in runs:
            got = self._run(inputs, layers)
            for l, f in got.items():
                if feats[l] is None:
                    feats[l] = f.new_zeros(wav.shape[0], T, f.shape[-1])
                t = min(T, f.shape[1])
                feats[l][rows, :t] = f[:, :t]
        mask = lengths_to_mask(torch.tensor(counts, device=wav.device), T)
        feats = {l: f * mask[..., None].to(f.dtype) for l, f in feats.items()}
        return TeacherOutput(features=feats, mask=mask, frame_rate=self.info.frame_rate)

    def _forward_whisper(self, wav: torch.Tensor, lengths: torch.Tensor, layers: list[int]) -> TeacherOutput:
        from .whisper.mel import log_mel
        from .whisper.windows import split_windows

        windows = split_windows(wav, lengths)
        mel = log_mel(windows.segs, windows.lengths, n_mels=self.n_mels)
        got = self._run({"input_features": mel.to(next(self.model.parameters()).dtype)}, layers)
        return TeacherOutput(features={l: windows.stitch(f) for l, f in got.items()}, mask=windows.mask(),
                             frame_rate=self.info.frame_rate)
