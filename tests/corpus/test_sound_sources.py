"""Real sound effects: copies of one file are one clip (keyed by content), variants of one sound one group."""
from __future__ import annotations

import shutil

import numpy as np
import soundfile as sf

from usad.corpus.context import BuildContext
from usad.corpus.sizes import SIZES
from usad.corpus.tasks.sound_sources import real_effects, sound_group


def test_variants_of_one_sound_share_a_group():
    assert sound_group("hw", "Droplet1") == sound_group("hw", "Droplet3") == "hw:droplet"
    assert sound_group("ui", "Oxygen-Sys-Log-In-Long") == sound_group("ui", "Oxygen-Sys-Log-Out") \
        == sound_group("ui", "Oxygen-Sys-Log-In")
    assert sound_group("ui", "service-login") == sound_group("ui", "service-logout")
    assert sound_group("hw", "1C") == sound_group("hw", "9D") == "hw:notes"     # one instrument's notes
    assert sound_group("hw", "hell_growl") == sound_group("hw", "hell_ow")
    assert sound_group("ui", "device-added") != sound_group("ui", "device-removed")


def test_byte_identical_files_are_one_clip_and_conflicting_names_lose_the_label(tmp_path):
    sounds = tmp_path / "Data" / "Sounds"
    sounds.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in ("explosion", "splash", "hammer"):
        sf.write(sounds / f"{name}.ogg", rng.uniform(-0.5, 0.5, 8000).astype(np.float32), 16000)
    shutil.copy(sounds / "explosion.ogg", sounds / "grenadeimpact.ogg")   # same class, same bytes
    shutil.copy(sounds / "splash.ogg", sounds / "gun.ogg")                # water vs gunshot, same bytes
    ctx = BuildContext(0, SIZES["small"], {"hedgewars": tmp_path / "Data"}, tmp_path / "w", progress=False)
    effects = {e.clip.id: e for e in real_effects(ctx, "test")}
    assert sorted(effects) == ["hw-explosion", "hw-gun", "hw-hammer"]
    assert effects["hw-explosion"].label == "explosion" and effects["hw-hammer"].label == "impact"
    assert effects["hw-gun"].label is None                                # water or gunshot? neither
    assert effects["hw-explosion"].clip.labels["copies"] == ["grenadeimpact.ogg"]
    assert len({e.clip.key for e in effects.values()}) == 3 and all(k.startswith("sfx:") for k in
                                                                    (e.clip.key for e in effects.values()))
