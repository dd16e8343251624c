"""Warm start from whisper-base: the student's blocks compute exactly what whisper-base's blocks compute, and a
student with the Whisper front end computes what the whisper-base teacher computes on real speech."""
import pytest
import torch

from tests.conftest import require


def test_whisper_base_blocks_are_copied_and_compute_the_same():
    from usad.distill.config import StudentConfig
    from usad.distill.student import build_student
    from usad.teachers.registry import check_teacher
    from usad.teachers.whisper.teacher import load_whisper_base_encoder

    ok, why = check_teacher("whisper-base")
    require(ok, why)
    student = build_student(StudentConfig("small", {"dim": 512, "num_heads": 8, "num_layers": 4, "dropout": 0.0},
                                          warm_start="whisper-base")).eval()
    whisper = load_whisper_base_encoder().eval()
    x = torch.randn(2, 30, 512)
    with torch.no_grad():
        for i in range(4):
            ours, _ = student.blocks[i](x, None, None)
            theirs, _ = whisper.blocks[i](x)
            assert torch.allclose(ours, theirs, atol=1e-4), i
    with pytest.raises(ValueError, match="needs a student of dim 512"):
        build_student(StudentConfig("small", {"dim": 256, "num_heads": 4, "num_layers": 2},
                                    warm_start="whisper-base"))
    with pytest.raises(ValueError, match="known sources"):
        build_student(StudentConfig("small", {"num_layers": 2}, warm_start="nope"))


def test_whisper_frontend_student_starts_as_whisper_base_on_real_speech(speech_wav_path):
    from usad.audio import load_audio
    from usad.distill.config import StudentConfig
    from usad.distill.student import build_student
    from usad.teachers.registry import check_teacher, load_teacher

    ok, why = check_teacher("whisper-base")
    require(ok, why)
    wav = load_audio(speech_wav_path)
    student = build_student(StudentConfig("small", {"dim": 512, "num_heads": 8, "num_layers": 6, "dropout": 0.0,
                                                    "frontend": "whisper", "n_mels": 80, "conv_pos_depth": 0},
                                          warm_start="whisper-base")).eval()
    teacher = load_teacher("whisper-base", window="clip")
    with torch.no_grad():
        ours = student(wav[None])
        theirs = teacher(wav[None], torch.tensor([wav.shape[0]]), list(range(6)))
    for layer in range(6):   # layer 6 differs by Whisper's final LayerNorm, which the student does not have
        a, b = ours.hidden_states[layer][0, 2:-2], theirs.features[layer][0, 2:-2]   # edges: zero vs reflect pad
        cos = torch.nn.functional.cosine_similarity(a, b, dim=-1)
        assert float(cos.min()) > 0.999, (layer, float(cos.min()))
    assert "subsampler.conv1.weight" in student.pretrained_names and "blocks.5.ffn.3.bias" in student.pretrained_names
    with pytest.raises(ValueError, match="conv_pos_depth 0"):
        build_student(StudentConfig("small", {"dim": 512, "num_heads": 8, "num_layers": 2, "frontend": "whisper",
                                              "n_mels": 80}, warm_start="whisper-base"))
