"""Shared test set-up."""

from __future__ import annotations

# Import the integration before any `hass` fixture runs, so Home Assistant's
# loader finds this repository's custom_components (not phcc's testing one).
import custom_components.evse_local  # noqa: F401
