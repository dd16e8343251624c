"""Probe-task builders: each returns a ``ProbeTaskPlan`` (or None when its sources are missing)."""
