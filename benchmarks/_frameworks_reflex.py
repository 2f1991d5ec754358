"""The Reflex section of benchmarks/frameworks.py (to come)."""

from __future__ import annotations

LABELS: dict[str, str] = {}
TARGETS: dict[str, float] = {}
REQUIRES = ["reflex", "liveharness_reflex"]
