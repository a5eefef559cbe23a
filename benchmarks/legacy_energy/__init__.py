"""The energy controller as it was before issue 10 — kept ONLY for the fault day.

**Not used by the integration.** These three modules are byte-for-byte
copies of ``custom_components/evse_local/energy/{controller,allocation,solar}.py``
at commit 3ca180d, the last commit before the circuit-safety change
(354f768). ``benchmarks/fault_day.py`` runs them as the "before" column, the
way the energy manager of that time drove them: no fallback writes, no
read-back reports, every command carried out as if it had succeeded.

Do not fix anything here: the point is to measure what the old code did.
"""

from .allocation import Allocation, AllocationReason, MemberState, Policy, allocate
from .controller import (
    Command,
    ControlResult,
    EnergyController,
    GroupSettings,
    MemberReading,
)
from .solar import SolarSettings

__all__ = [
    "Allocation",
    "AllocationReason",
    "Command",
    "ControlResult",
    "EnergyController",
    "GroupSettings",
    "MemberReading",
    "MemberState",
    "Policy",
    "SolarSettings",
    "allocate",
]
