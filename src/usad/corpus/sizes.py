"""Build sizes: ``small`` for CI (every task present but tiny), ``default`` for the CPU demo, ``full`` for all.

Per-split sizes are (train, valid, test) triples; ``None`` (for a whole triple) means every item the sources
allow. ``default`` is sized so that every task has >= 200 test items where the source allows it while the whole
probe suite stays near 100 minutes of audio (docs/corpus.md has the measured table and the trade-off).
"""
from __future__ import annotations

from dataclasses import dataclass

Split3 = tuple[int, int, int]


@dataclass(frozen=True)
class SizeConfig:
    name: str
    language_per_class: Split3 | None     # spoken_language clips per language
    speaker_per_class: Split3 | None      # speaker_id clips per speaker
    keywords: tuple[int, int | None, int | None]  # spoken_keywords per keyword: espeak-ng clips in train; real
                                           # recordings of the valid voice, of the test voices (None: all)
    phonemes: Split3 | None               # phonemes utterances per split
    instrument_per_program: Split3        # instrument_family clips per GM program of each split
    pitch_programs: Split3                # note_pitch GM programs per split (all 37 pitches each)
    style_per_class: Split3 | None        # composer_style segments per style and split
    segments_per_score: int               # composer_style segments cut from one score
    sound_real_max: int | None            # sound_event real clips per class (None: all)
    detection_scenes: Split3              # sound_detection scenes per split
    event_files: Split3                   # note_events files per split
    train_seconds_per_domain: float | None


SIZES = {
    "small": SizeConfig(
        "small", language_per_class=(4, 2, 3), speaker_per_class=(2, 1, 2), keywords=(1, 1, 1),
        phonemes=(24, 8, 12), instrument_per_program=(1, 1, 1), pitch_programs=(2, 1, 1),
        style_per_class=(3, 2, 3), segments_per_score=1, sound_real_max=6, detection_scenes=(12, 4, 8),
        event_files=(6, 3, 6), train_seconds_per_domain=150.0),
    # default: >= 200 test items per task where the source allows (sound_detection 100, note_events 80 files,
    # sound_event every real clip) at ~110 min of probe audio; phonemes valid has 53 usable minor-character lines
    "default": SizeConfig(
        "default", language_per_class=(12, 6, 30), speaker_per_class=(4, 2, 9), keywords=(4, None, None),
        phonemes=(240, 70, 210), instrument_per_program=(2, 3, 9), pitch_programs=(5, 2, 6),
        style_per_class=(20, 8, 50), segments_per_score=2, sound_real_max=None, detection_scenes=(50, 20, 100),
        event_files=(60, 20, 80), train_seconds_per_domain=900.0),
    "full": SizeConfig(
        "full", language_per_class=None, speaker_per_class=None, keywords=(12, None, None), phonemes=None,
        instrument_per_program=(8, 8, 12), pitch_programs=(40, 8, 20), style_per_class=None, segments_per_score=4,
        sound_real_max=None, detection_scenes=(400, 100, 400), event_files=(200, 48, 100),
        train_seconds_per_domain=None),
}
