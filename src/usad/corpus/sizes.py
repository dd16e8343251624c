"""Build sizes: ``small`` for CI (every task present but tiny), ``default`` for the CPU demo, ``full`` for all."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SizeConfig:
    name: str
    language_per_class: int | None      # spoken_language clips per language (train; valid/test get a fraction)
    speaker_per_class: int | None       # speaker_id clips per speaker
    tts_variants: int                   # espeak-ng voice variants per language for digits/letters
    tts_languages: int                  # how many espeak-ng languages
    instrument_clips_per_program: int
    pitch_programs: int                 # GM programs used for note_pitch (split by program)
    style_scores_per_class: int | None
    segments_per_score: int
    sound_synth_per_class: int
    sound_real_max: int | None          # real sound effects per class
    event_clips: int                    # clips per frame-level task
    train_seconds_per_domain: float | None


SIZES = {
    "small": SizeConfig("small", 8, 8, 1, 3, 1, 6, 3, 1, 4, 6, 12, 150.0),
    # default: sized so the whole CPU demo (teacher targets, 15 min of training, probing 5 encoders) fits ~1 h
    "default": SizeConfig("default", 24, 12, 2, 6, 2, 12, 10, 2, 12, 20, 60, 900.0),
    "full": SizeConfig("full", None, None, 8, 10, 12, 40, None, 4, 80, None, 400, None),
}
