"""What a loaded entry holds, typed: the top of the one-way data flow.

The coordinators know their charger; the energy manager and the session
ledger know the coordinators; this module knows them all, so nothing below
it has to know what is above (no import cycles between coordinator,
manager, ledger and group).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeIs

from homeassistant.config_entries import ConfigEntry

from .coordinator import EvseCoordinator
from .energy_manager import EnergyManager
from .group import is_group_entry
from .ledger import SessionLedger
from .plan import PlanRunner
from .protocols.charger import Charger

type EvseConfigEntry = ConfigEntry[EvseRuntimeData]
type GroupConfigEntry = ConfigEntry[GroupRuntimeData]


@dataclass(kw_only=True, slots=True)
class EvseRuntimeData:
    """What a loaded charger entry holds."""

    charger: Charger
    coordinator: EvseCoordinator
    ledger: SessionLedger
    plan: PlanRunner
    # The charging mode of a charger that is in no group (a group has its own).
    energy: EnergyManager | None = None


@dataclass(kw_only=True, slots=True)
class GroupRuntimeData:
    """What a loaded charging group holds."""

    manager: EnergyManager


def is_group(entry: ConfigEntry[Any]) -> TypeIs[GroupConfigEntry]:
    """Whether an entry is a charging group (chargers have no ``kind``)."""
    return is_group_entry(entry)
