"""The HEAR 2021 API, checked against the shapes and dtypes hearvalidator asserts (the validator itself needs
TensorFlow, which the project does not install; docs/eval.md records a run of the official validator)."""
import torch

from usad.adapters import hear

TINY = "preset:small,num_layers=2,dim=32,num_heads=2"


def test_hear_api_shapes_dtypes_and_timestamps():
    model = hear.load_model(TINY)
    assert model.sample_rate == 16000 and isinstance(model, torch.nn.Module)
    assert isinstance(model.scene_embedding_size, int) and model.scene_embedding_size == 32
    assert isinstance(model.timestamp_embedding_size, int)
    audio = torch.rand(3, 32000) * 2 - 1
    emb, ts = hear.get_timestamp_embeddings(audio, model)
    assert emb.dtype == torch.float32 and emb.shape[0] == 3 and emb.shape[2] == model.timestamp_embedding_size
    assert ts.shape == emb.shape[:2] and emb.shape[1] == model.encoder.num_frames(32000)
    d = torch.diff(ts, dim=1)
    assert torch.allclose(d, torch.full_like(d, 20.0)) and float(ts[0, 0]) == 10.0  # 50 Hz frame centres
    scene = hear.get_scene_embeddings(audio, model)
    assert scene.dtype == torch.float32 and scene.shape == (3, model.scene_embedding_size)
    assert torch.allclose(scene, emb.mean(1), atol=1e-5)


def test_hear_layer_choice_and_missing_model_message():
    m_last = hear.load_model(TINY)
    m_mean = hear.load_model(TINY, layer="mean")
    audio = torch.rand(1, 8000) - 0.5
    assert not torch.allclose(hear.get_scene_embeddings(audio, m_last), hear.get_scene_embeddings(audio, m_mean))
    try:
        hear.load_model("")
    except ValueError as e:
        assert "save_pretrained" in str(e)
    else:
        raise AssertionError("load_model('') should explain what to pass")


def test_hear_long_audio_goes_through_chunking():
    model = hear.load_model(TINY, chunk_seconds=1.0)
    audio = torch.rand(1, 40000) - 0.5   # 2.5 s > 1 s chunk
    emb, ts = hear.get_timestamp_embeddings(audio, model)
    assert emb.shape[1] == model.encoder.num_frames(40000) and torch.isfinite(emb).all()
