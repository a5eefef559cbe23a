"""Solar surplus charging: turn grid power into a current budget, calmly.

The surplus is what the chargers could draw without importing from the
grid: what they draw now minus what the house imports. A charge starts only
after the surplus has covered the minimum current for ``start_delay`` and
stops only after a deficit has lasted ``stop_delay`` (evcc's enable and
disable delays); a passing cloud (tens of seconds) thus costs a little grid
energy at the minimum current instead of a pause/resume cycle, which wears
relays and annoys some cars.

In between, the budget moves only when the move is worth a command. Every
reading adds what the current budget costs to one of two tallies, in
ampere-seconds: surplus left unused, and current drawn beyond the surplus
(the import). The budget comes down once the import tally reaches
``lower_after`` and goes up once the unused tally reaches ``raise_after``
with at least ``raise_deadband`` amperes to gain, each time straight to what
the surplus covers. A large change thus moves the budget at the next
reading, a small one only when it lasts, and noise, a fridge or a kettle's
few seconds never do; it is the ampere-second form of OpenEVSE's
asymmetric smoothing of the available current (attack and decay times).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum


class SolarMode(StrEnum):
    """What the user wants the chargers to do."""

    OFF = "off"
    """No solar control: the controller has no opinion."""
    FAST = "fast"
    """Charge at the maximum, whatever the sun does."""
    MIN_SOLAR = "min_solar"
    """Never below the minimum current, more when there is surplus."""
    SOLAR = "solar"
    """Surplus only: pause when there is not enough."""
    PLANNED = "planned"
    """A budget like :attr:`SOLAR` that binds no one: the members' charging
    plans take it first and buy the rest from the grid (the controller)."""


class SolarState(StrEnum):
    """What the controller is doing (the state sensor)."""

    OFF = "off"
    FAST = "fast"
    NO_VEHICLE = "no_vehicle"
    WAITING = "waiting"
    """Surplus below the minimum: paused."""
    STARTING = "starting"
    """Enough surplus; the start delay is running."""
    FOLLOWING = "following"
    """Charging on surplus."""
    STOPPING = "stopping"
    """Deficit; the stop delay is running (charging at the minimum)."""
    MINIMUM = "minimum"
    """Min+solar mode at the minimum current."""
    BATTERY_FIRST = "battery_first"
    """The home battery is below its threshold and takes the surplus first."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SolarSettings:
    """User settings; currents are per phase, totals for the group/charger."""

    mode: SolarMode = SolarMode.OFF
    start_delay: float = 60.0
    stop_delay: float = 180.0
    phases: int = 1
    voltage: float = 230.0
    min_current: int = 6
    max_current: int = 32
    battery_first_soc: float | None = None
    raise_deadband: float = 2.0
    """Amperes the surplus must exceed the budget by before it rises."""
    raise_after: float = 200.0
    """Ampere-seconds of surplus left unused before the budget rises: 20 A
    more at the next reading (10 s apart), 2 A more after 100 s."""
    lower_after: float = 25.0
    """Ampere-seconds drawn beyond the surplus and the tolerance before the
    budget comes down: 3.5 A of import at the next reading, 1.5 A after 50 s."""
    import_tolerance: float = 1.0
    """Amperes drawn beyond the surplus that never count (meter noise, a
    fridge): less than the one-ampere step the budget moves in."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SolarInputs:
    """One reading of the meters (signs normalised by the caller).

    ``grid_power_w``: positive = importing, negative = exporting; None when
    the meter is unavailable. ``battery_power_w``: positive = charging.
    """

    grid_power_w: float | None
    charging_power_w: float
    battery_power_w: float | None = None
    battery_soc: float | None = None


@dataclass(slots=True)
class _Budget:
    """The budget being followed and what it has cost since it last moved."""

    amps: int
    read_at: float
    unused: float = 0.0
    """Ampere-seconds of surplus the budget left unused."""
    imported: float = 0.0
    """Ampere-seconds drawn beyond the surplus and the import tolerance."""


@dataclass(frozen=True, slots=True)
class SolarDecision:
    """The budget: None = no opinion (mode off), 0 = pause, else A per phase."""

    amps: int | None
    state: SolarState
    surplus_w: float | None


class SolarController:
    """Follows the surplus with start/stop delays; one instance per group.

    ``settings`` may be replaced at any time (a select or number entity
    changed); a mode change starts the delays afresh.
    """

    def __init__(self, settings: SolarSettings) -> None:
        """Start idle."""
        self.settings = settings
        self._mode = settings.mode
        self._charging = False
        self._enough_since: float | None = None
        self._deficit_since: float | None = None
        self._blind_since: float | None = None
        self._last: SolarDecision | None = None
        self._budget: _Budget | None = None

    def _reset(self) -> None:
        self._charging = False
        self._enough_since = None
        self._deficit_since = None
        self._blind_since = None
        self._last = None
        self._budget = None

    # ------------------------------------------------------------ surplus

    def _battery_first(self, inputs: SolarInputs) -> bool:
        threshold = self.settings.battery_first_soc
        if threshold is None:
            return False
        # An unknown state of charge keeps the priority the user asked for.
        return inputs.battery_soc is None or inputs.battery_soc < threshold

    def surplus(self, inputs: SolarInputs) -> float | None:
        """Watts the chargers could draw without importing (None: no meter)."""
        if inputs.grid_power_w is None:
            return None
        surplus = inputs.charging_power_w - inputs.grid_power_w
        battery = inputs.battery_power_w or 0.0
        if battery < 0:
            # A discharging battery is feeding the house (or the car); taking
            # that as surplus would empty the battery into the car.
            surplus += battery
        elif not self._battery_first(inputs):
            # The car comes first: what the battery is soaking up is ours.
            surplus += battery
        return surplus

    @property
    def _watts_per_amp(self) -> float:
        return self.settings.voltage * max(1, self.settings.phases)

    def _amps_for(self, surplus_w: float) -> int:
        return math.floor(surplus_w / self._watts_per_amp)

    def _clamp(self, amps: int) -> int:
        return max(self.settings.min_current, min(self.settings.max_current, amps))

    # ------------------------------------------------------------ decisions

    def update(
        self, now: float, inputs: SolarInputs, *, vehicle_waiting: bool
    ) -> SolarDecision:
        """Decide the budget at ``now`` (seconds, monotonic)."""
        settings = self.settings
        if settings.mode is not self._mode:
            self._mode = settings.mode
            self._reset()
        surplus = self.surplus(inputs)
        decision = self._decide(now, surplus, inputs, vehicle_waiting=vehicle_waiting)
        self._last = decision
        return decision

    def _decide(
        self,
        now: float,
        surplus: float | None,
        inputs: SolarInputs,
        *,
        vehicle_waiting: bool,
    ) -> SolarDecision:
        mode = self.settings.mode
        if mode is SolarMode.OFF:
            return SolarDecision(None, SolarState.OFF, surplus)
        if mode is SolarMode.FAST:
            state = SolarState.FAST if vehicle_waiting else SolarState.NO_VEHICLE
            return SolarDecision(self.settings.max_current, state, surplus)
        if not vehicle_waiting:
            # A car plugged in later goes through the start delay afresh.
            self._reset()
            return SolarDecision(0, SolarState.NO_VEHICLE, surplus)
        if surplus is None:
            return self._blind(now)
        self._blind_since = None
        amps = self._amps_for(surplus)
        if mode is SolarMode.MIN_SOLAR:
            # Never pauses, so no delays: the minimum is the floor.
            budget = self._follow(now, surplus, inputs)
            if budget > self.settings.min_current:
                return SolarDecision(budget, SolarState.FOLLOWING, surplus)
            return SolarDecision(budget, SolarState.MINIMUM, surplus)
        return self._solar(now, amps, surplus, inputs)

    def _follow(self, now: float, surplus: float, inputs: SolarInputs) -> int:
        """Move the budget to what the surplus covers once that is worth a command."""
        settings = self.settings
        per_amp = self._watts_per_amp
        available = surplus / per_amp
        target = self._clamp(math.floor(available))
        budget = self._budget
        if budget is None:
            self._budget = _Budget(target, now)
            return target
        elapsed = max(0.0, now - budget.read_at)
        budget.read_at = now
        # The settings may have changed the range since.
        budget.amps = self._clamp(budget.amps)
        # What the chargers really draw: a car taking less than its budget
        # imports nothing, and needs no command.
        imported = inputs.charging_power_w / per_amp - available
        budget.imported = max(
            0.0,
            budget.imported + (imported - settings.import_tolerance) * elapsed,
        )
        gain = available - budget.amps
        budget.unused = max(0.0, budget.unused + gain * elapsed)
        if (
            target < budget.amps
            and imported > settings.import_tolerance
            and budget.imported >= settings.lower_after
        ) or (
            target > budget.amps
            and gain >= settings.raise_deadband
            and budget.unused >= settings.raise_after
        ):
            budget = self._budget = _Budget(target, now)
        return budget.amps

    def _blind(self, now: float) -> SolarDecision:
        """Hold while the grid meter is unavailable, then take the safe side."""
        if self._blind_since is None:
            self._blind_since = now
        if self._budget is not None:
            # Without readings nothing is learnt about what the budget costs.
            self._budget.read_at = now
        last = self._last
        if (
            last is not None
            and last.state is not SolarState.NO_VEHICLE
            and now - self._blind_since < self.settings.stop_delay
        ):
            return SolarDecision(last.amps, last.state, None)
        self._charging = False
        self._enough_since = None
        self._deficit_since = None
        self._budget = None
        if self.settings.mode is SolarMode.MIN_SOLAR:
            return SolarDecision(self.settings.min_current, SolarState.MINIMUM, None)
        return SolarDecision(0, SolarState.WAITING, None)

    def _solar(
        self, now: float, amps: int, surplus: float, inputs: SolarInputs
    ) -> SolarDecision:
        settings = self.settings
        enough = amps >= settings.min_current
        if self._charging:
            if enough:
                self._deficit_since = None
                budget = self._follow(now, surplus, inputs)
                return SolarDecision(budget, SolarState.FOLLOWING, surplus)
            if self._deficit_since is None:
                self._deficit_since = now
            # The budget climbs back from the minimum when the cloud passes.
            self._budget = _Budget(settings.min_current, now)
            if now - self._deficit_since < settings.stop_delay:
                # Ride out the cloud at the minimum rather than cycling.
                return SolarDecision(settings.min_current, SolarState.STOPPING, surplus)
            self._charging = False
            self._deficit_since = None
            self._budget = None
        if not enough:
            self._enough_since = None
            self._budget = None
            waiting = (
                SolarState.BATTERY_FIRST
                if self._battery_first(inputs) and (inputs.battery_power_w or 0) > 0
                else SolarState.WAITING
            )
            return SolarDecision(0, waiting, surplus)
        if self._enough_since is None:
            self._enough_since = now
        if now - self._enough_since < settings.start_delay:
            return SolarDecision(0, SolarState.STARTING, surplus)
        self._charging = True
        self._enough_since = None
        # A start sends a command anyway: straight to what the surplus covers.
        self._budget = _Budget(self._clamp(amps), now)
        return SolarDecision(self._clamp(amps), SolarState.FOLLOWING, surplus)
