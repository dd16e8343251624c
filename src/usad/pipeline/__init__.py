"""The end-to-end main job: build data, cache teacher targets, distil (stage 1 + stage 2), probe, report."""
from usad.pipeline.demo import DemoConfig, run_demo

__all__ = ["DemoConfig", "run_demo"]
