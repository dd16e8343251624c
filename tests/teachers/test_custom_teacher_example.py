"""examples/custom_teacher.py must keep running: it is how users plug in ATST-Frame, MuQ, BEATs, AF-Whisper."""
import runpy
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "custom_teacher.py"


def test_custom_teacher_example_runs_and_registers(capsys):
    runpy.run_path(str(EXAMPLE), run_name="__main__")
    out = capsys.readouterr().out
    assert "valid frames: [50, 25]" in out and "aligned to 50 Hz: (2, 100, 32)" in out
    from usad.teachers.registry import known_teachers

    assert "my-music" in known_teachers()
