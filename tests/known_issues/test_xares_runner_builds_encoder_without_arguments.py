"""X-ARES's runner builds the encoder class with no arguments (``attr_from_py_path(path, endswith="Encoder")()``),
and ``USADEncoder()`` raised "no model given". Now USAD_MODEL names the model, or `usad adapter` writes a file
for one model. Checked with xares' own loader and checker, and against XARES-LLM's documented contract."""
import importlib
import inspect
from collections.abc import Sequence

import pytest
import torch

from tests.conftest import require
from usad import ConfigError, Encoder
from usad.cli.main import main

TINY = "preset:small,num_layers=2,dim=32,num_heads=2"


def _xares():
    found = importlib.util.find_spec("xares") is not None and importlib.util.find_spec("loguru") is not None
    require(found, "xares (scripts/setup.sh installs it --no-deps) and loguru")
    from xares.audio_encoder_checker import check_audio_encoder
    from xares.utils import attr_from_py_path

    return attr_from_py_path, check_audio_encoder


def test_official_runner_builds_our_module_from_usad_model(monkeypatch, tmp_path):
    attr_from_py_path, check_audio_encoder = _xares()
    Encoder.from_preset("small", num_layers=1, dim=48, num_heads=2).save_pretrained(tmp_path / "student")
    monkeypatch.setenv("USAD_MODEL", str(tmp_path / "student"))
    monkeypatch.setenv("USAD_LAYER", "1")
    encoder = attr_from_py_path("usad/adapters/xares.py", endswith="Encoder")()   # what xares.run does
    assert check_audio_encoder(encoder)
    assert encoder.output_dim == 48 and encoder.layer == 1


def test_without_a_model_the_error_names_both_routes(monkeypatch):
    from usad.adapters.xares import USADEncoder

    monkeypatch.delenv("USAD_MODEL", raising=False)
    with pytest.raises(ConfigError, match="USAD_MODEL.*usad adapter"):
        USADEncoder()


def test_usad_adapter_writes_a_file_the_runner_loads(monkeypatch, tmp_path):
    attr_from_py_path, check_audio_encoder = _xares()
    Encoder.from_preset("small", num_layers=2, dim=32, num_heads=2).save_pretrained(tmp_path / "run" / "student")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.syspath_prepend(str(work))        # python -m xares.run puts the working folder on sys.path
    monkeypatch.delenv("USAD_MODEL", raising=False)
    assert main(["adapter", "--for", "xares", "--model", str(tmp_path / "run" / "student"),
                 "--out", "usad_encoder.py"]) == 0
    cls = attr_from_py_path("usad_encoder.py", endswith="Encoder")
    assert cls.__name__ == "USADRunStudentEncoder"
    assert check_audio_encoder(cls())


# XARES-LLM is not on PyPI; these checks restate its runner and checker (xares_llm/run.py, utils.py,
# audio_encoder_checker.py and modeling_xaresllm.py): the class is found by name (a file: the only attribute
# ending in "Encoder"; else a dotted module path), built with no arguments, called as encoder(audio, mask)
# on a (3, 50000) batch, must return a 2-sequence (features (B, T, output_dim), mask (B, T) or None), and the
# mask is concatenated with the text attention mask.
def _xares_llm_check(encoder) -> None:
    assert isinstance(encoder, torch.nn.Module) and hasattr(encoder, "output_dim")
    params = [p for p in inspect.signature(encoder.forward).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    assert len(params) >= 2
    audio = torch.randn(3, 50000)
    result = encoder(audio, None)
    assert isinstance(result, Sequence) and len(result) == 2
    feats, mask = result
    assert feats.ndim == 3 and feats.shape[0] == 3 and feats.shape[2] == encoder.output_dim
    assert mask.ndim == 2 and mask.shape == feats.shape[:2]
    att = torch.ones(3, 50000, dtype=torch.long)
    att[1, 30000:] = 0
    feats, mask = encoder(audio, att)
    text = torch.ones(3, 5, dtype=torch.long)
    joined = torch.cat((mask, text), dim=1)
    assert joined.dtype == torch.long and int(mask[1].sum()) < int(mask[0].sum())


def test_xares_llm_contract_by_file_and_by_dotted_name(monkeypatch, tmp_path):
    monkeypatch.setenv("USAD_MODEL", TINY)
    module = importlib.import_module("usad.adapters.xares_llm")
    names = [m for m in dir(module) if m.endswith("Encoder")]
    assert names == ["USADLLMEncoder"]            # attr_from_py_path(file, endswith="Encoder") needs exactly one
    module_name, attribute = "usad.adapters.xares_llm.USADLLMEncoder".rsplit(".", 1)   # attr_from_module
    _xares_llm_check(getattr(importlib.import_module(module_name), attribute)())
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("USAD_MODEL")
    assert main(["adapter", "--for", "xares-llm", "--model", TINY, "--out", "llm_encoder.py",
                 "--layer", "1"]) == 0
    generated = importlib.import_module("llm_encoder")
    [name] = [m for m in dir(generated) if m.endswith("Encoder")]
    encoder = getattr(generated, name)()
    assert encoder.layer == 1
    _xares_llm_check(encoder)
