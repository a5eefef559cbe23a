"""Energy management: load sharing on one circuit and solar surplus charging.

Plain Python, no Home Assistant. The circuit invariant is stated in
:mod:`.safety`: what every member could draw, summed, never exceeds the
circuit. :func:`allocate` splits a circuit among
chargers (the Uniform Distribution and First In First Serve policies of the
Blink local load management), :class:`SolarController` turns grid power into
a current budget without flapping, and :class:`EnergyController` combines
both into commands for the chargers. The Home Assistant side reads the
chargers and meters, calls :meth:`EnergyController.step` and executes the
commands.
"""

from .allocation import (
    J1772_MIN_CURRENT,
    Allocation,
    AllocationReason,
    MemberState,
    Policy,
    allocate,
)
from .controller import (
    Command,
    ControlResult,
    EnergyController,
    FallbackWrite,
    GroupSettings,
    MemberReading,
)
from .planner import (
    ChargeCommand,
    ChargingBlock,
    ChargingLimits,
    ChargingPlan,
    EnergySlot,
    PlanInputError,
    PlanInputProblem,
    PlannedSlot,
    PlanReason,
    PlanState,
    energy_for_soc,
    next_ready_time,
    plan_charging,
)
from .prices import (
    FixedTariff,
    PriceDataError,
    PriceError,
    PriceForecast,
    PriceSlot,
    PriceSource,
    parse_price_attributes,
)
from .safety import Exposure, could_draw
from .solar import (
    SolarController,
    SolarDecision,
    SolarInputs,
    SolarMode,
    SolarSettings,
    SolarState,
)

__all__ = [
    "J1772_MIN_CURRENT",
    "Allocation",
    "AllocationReason",
    "ChargeCommand",
    "ChargingBlock",
    "ChargingLimits",
    "ChargingPlan",
    "Command",
    "ControlResult",
    "EnergyController",
    "EnergySlot",
    "Exposure",
    "FallbackWrite",
    "FixedTariff",
    "GroupSettings",
    "MemberReading",
    "MemberState",
    "PlanInputError",
    "PlanInputProblem",
    "PlanReason",
    "PlanState",
    "PlannedSlot",
    "Policy",
    "PriceDataError",
    "PriceError",
    "PriceForecast",
    "PriceSlot",
    "PriceSource",
    "SolarController",
    "SolarDecision",
    "SolarInputs",
    "SolarMode",
    "SolarSettings",
    "SolarState",
    "allocate",
    "could_draw",
    "energy_for_soc",
    "next_ready_time",
    "parse_price_attributes",
    "plan_charging",
]
