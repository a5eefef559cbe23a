"""Shared test set-up."""

from __future__ import annotations

from hypothesis import settings

# Import the integration before any `hass` fixture runs, so Home Assistant's
# loader finds this repository's custom_components (not phcc's testing one).
import custom_components.evse_local  # noqa: F401

# Every property test is reproducible: the same examples on every run and
# machine (no random seed, no example database), so main stays green and a
# failure found once is found again. Tests pick their own example counts.
settings.register_profile("evse_local", derandomize=True, database=None)
settings.load_profile("evse_local")
