"""usad: universal audio encoders by multi-teacher distillation (USAD 2.0)."""
__version__ = "0.1.0"
