"""Sections of benchmarks/gpu_check.py (one file per section)."""
