"""`usad teachers` and `usad cache` from the command line."""
import json

import numpy as np
import soundfile as sf

from usad.cli.main import main


def test_usad_teachers_lists_every_builtin(capsys):
    assert main(["teachers", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert {"whisper-base", "crepe-full", "crepe-tiny", "basic-pitch", "pesto", "resemblyzer", "birdnet"} <= set(rows)
    assert rows["whisper-base"]["frame_rate"] == 50.0 and rows["birdnet"]["licence"].startswith("CC BY-NC-SA")
    for r in rows.values():
        assert r["ok"] or "pip install" in r["reason"]
    assert main(["teachers"]) == 0
    assert "whisper-base" in capsys.readouterr().out


def test_usad_cache_builds_and_resumes(tmp_path, capsys):
    sf.write(tmp_path / "a.wav", np.zeros(8000, np.float32) + 0.01, 16000)
    (tmp_path / "m.jsonl").write_text(json.dumps({"id": "a", "path": "a.wav", "duration": 0.5}) + "\n")
    args = ["cache", "--teacher", "test:4x2@50", "--manifest", str(tmp_path / "m.jsonl"), "--out",
            str(tmp_path / "out"), "--layers", "1", "2", "--no-progress"]
    assert main(args) == 0
    assert main(args) == 0
    folder = capsys.readouterr().out.strip().splitlines()[-1].split(": ", 1)[1]
    index = json.loads(open(f"{folder}/index.json").read())
    assert index["complete"] and index["clips"]["a"][1] == 25
    assert main(["cache", "--teacher", "test:4x2@50", "--manifest", str(tmp_path / "m.jsonl"), "--out",
                 str(tmp_path / "out"), "--layers", "7"]) == 2
    assert "no layer" in capsys.readouterr().err
