"""Whisper encoders as teachers: Whisper's log-mel (``mel``), its 30 s windows (``windows``), a plain PyTorch
encoder (``encoder``) filled from a CTranslate2 file (``ct2_reader``), and the ``whisper-base`` teacher
(``teacher``). ``hf:`` Whisper models use the same front end and windows."""
