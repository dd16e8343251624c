"""Warm start from whisper-base: the student's blocks compute exactly what whisper-base's blocks compute."""
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
