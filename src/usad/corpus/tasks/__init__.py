"""Probe-task builders: each returns a planned ``ProbeTask`` (or None when its sources are missing)."""
