"""Hypothesis profiles, loaded by conftest.py.

- ``dev`` (default): 100 examples, the default deadline off (the shared machines are slow).
- ``ci`` (chosen when ``$CI`` is set): 50 examples, derandomized, so a CI failure replays
  the same examples on the next run and on a developer's machine.
- ``thorough``: 1000 examples, for a run before a release.

``HYPOTHESIS_PROFILE`` names a profile explicitly (it wins over ``$CI``).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}

settings.register_profile("dev", max_examples=100, **_COMMON)
settings.register_profile("ci", max_examples=50, derandomize=True, print_blob=True, **_COMMON)
settings.register_profile("thorough", max_examples=1000, **_COMMON)


def chosen() -> str:
    return os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")


settings.load_profile(chosen())
