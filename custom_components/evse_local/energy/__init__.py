"""Energy management: load sharing on one circuit and solar surplus charging.

Plain Python, no Home Assistant: :func:`allocate` splits a circuit among
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
    GroupSettings,
    MemberReading,
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
    "Command",
    "ControlResult",
    "EnergyController",
    "FixedTariff",
    "GroupSettings",
    "MemberReading",
    "MemberState",
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
    "parse_price_attributes",
]
