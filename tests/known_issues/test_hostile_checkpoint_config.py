"""A hostile config.json (`num_layers: 10000000`) ate memory before the weights were checked, and wrong-typed
fields (`"dropout": "0.1"`, `"num_layers": 2.5`) escaped as a bare TypeError naming neither folder nor field.
Keys and shapes are now checked from the safetensors header before anything is built, and field types are
checked by name."""
import json
import time
import tracemalloc

import pytest

from usad import CheckpointError, Encoder
from usad.checkpoint import CONFIG_NAME


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "ckpt"
    Encoder.from_preset("small", num_layers=2, dim=32, num_heads=2).save_pretrained(path)
    Encoder.from_pretrained(path)   # first load imports torch's meta-device code: keep it out of the measurements
    return path


def edit(path, **fields):
    config = json.loads((path / CONFIG_NAME).read_text())
    config.update(fields)
    (path / CONFIG_NAME).write_text(json.dumps(config))


def test_huge_num_layers_is_refused_before_building(saved):
    edit(saved, num_layers=10_000_000)
    tracemalloc.start()
    start = time.perf_counter()
    with pytest.raises(CheckpointError, match="num_layers=10000000 but model.safetensors holds 2 blocks"):
        Encoder.from_pretrained(saved)
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 50e6 and elapsed < 10.0   # building 10M blocks would take minutes and many GB


def test_huge_width_is_refused_by_shape_before_allocating(saved):
    edit(saved, dim=1_000_000, num_heads=1, conv_pos_groups=1)
    tracemalloc.start()
    with pytest.raises(CheckpointError, match="shape mismatch"):
        Encoder.from_pretrained(saved)
    assert tracemalloc.get_traced_memory()[1] < 50e6
    tracemalloc.stop()


@pytest.mark.parametrize("field,value,kind", [("dropout", "0.1", "float"), ("num_layers", 2.5, "int"),
                                              ("attention", 3, "str"), ("gradient_checkpointing", 1, "bool")])
def test_wrong_typed_fields_name_the_folder_and_field(saved, field, value, kind):
    edit(saved, **{field: value})
    with pytest.raises(CheckpointError, match=rf"{saved}.*field '{field}' must be a (finite )?{kind}"):
        Encoder.from_pretrained(saved)
