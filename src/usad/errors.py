"""The one base class of the errors a user can act on.

Every problem with the user's input (a file, a setting, a model folder, a teacher name) raises a
:class:`UsadError` whose message names the input, says what was wrong and what to do. ``usad <verb>`` catches
this class once (``usad.cli.main``): the message is printed, the exit code is 2 and no traceback is shown.
Anything else that escapes is a bug in usad and keeps its traceback.

Subclasses live next to the code that raises them: ``AudioError`` (usad.audio), ``CheckpointError``
(usad.checkpoint), ``ManifestError`` (usad.manifest), ``TeacherUnavailable`` (usad.teachers), and
:class:`ConfigError` here (settings: recipes, overrides, encoder configs, command-line values).
"""
from __future__ import annotations


class UsadError(ValueError):
    """A user-facing problem; the message names the input and says what to do."""


class ConfigError(UsadError):
    """A setting is invalid (a recipe key, an override, an encoder config field, a command-line value)."""


class NonFiniteError(UsadError, FloatingPointError):
    """A loss or a feature became NaN/Inf (bad audio, bad weights or too high a learning rate)."""
