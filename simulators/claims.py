"""Claims arbitration of the current OpenEVSE WiFi firmware (``EvseManager``).

Several clients (the user's manual override, an external controller, a
session limit, ...) each *claim* properties of the EVSE. For every property
separately the claim with the highest priority that sets it wins; a tie goes
to the claim made first, because the firmware scans its slots in order and
only replaces a winner on a strictly higher priority. The result is a target:

* ``state``: ``disabled`` if the winning state claim says so (the EVSE then
  *sleeps*, as the firmware does with ``pause_uses_disabled`` off), otherwise
  ``active``;
* pilot current: ``max_current_soft``, lowered by the winning ``max_current``,
  then by the winning ``charge_current``, and never below the hardware minimum.

Claims live in the WiFi module's RAM: a gateway reboot loses them, and those
with ``auto_release`` go away when the vehicle is unplugged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# EVC(vendor OpenEVSE = 0x0001, id): client ids the firmware uses internally.
CLIENT_MANUAL = 0x00010001
PRIORITY_API = 500
PRIORITY_MANUAL = 1000

# EVSE_MANAGER_MAX_CLIENT_CLAIMS.
MAX_CLAIMS = 10

STATE_ACTIVE = "active"
STATE_DISABLED = "disabled"


class ClaimError(ValueError):
    """A claim body that the firmware would refuse."""


@dataclass(frozen=True, slots=True)
class ClaimProperties:
    """The properties one client claims; None means "not claimed"."""

    state: str | None = None
    charge_current: int | None = None
    max_current: int | None = None
    auto_release: bool = False

    @classmethod
    def from_json(
        cls, body: object, *, default_auto_release: bool = False
    ) -> ClaimProperties:
        """Parse a claim/override body; ``"clear"`` removes a property."""
        if not isinstance(body, dict):
            raise ClaimError("body is not a JSON object")
        state = body.get("state")
        if state == "clear":
            state = None
        if state is not None and state not in (STATE_ACTIVE, STATE_DISABLED):
            raise ClaimError(f"bad state {state!r}")
        auto_release = body.get("auto_release", default_auto_release)
        if not isinstance(auto_release, bool):
            raise ClaimError("auto_release must be a boolean")
        return cls(
            state=state,
            charge_current=_current(body, "charge_current"),
            max_current=_current(body, "max_current"),
            auto_release=auto_release,
        )

    def to_json(self) -> dict[str, Any]:
        """Serialise like ``EvseProperties::serialize`` (unset keys omitted)."""
        doc: dict[str, Any] = {}
        if self.state is not None:
            doc["state"] = self.state
        if self.charge_current is not None:
            doc["charge_current"] = self.charge_current
        if self.max_current is not None:
            doc["max_current"] = self.max_current
        doc["auto_release"] = self.auto_release
        return doc


def _current(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is None or value == "clear":
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ClaimError(f"{key} must be a non-negative integer")
    return int(value)


@dataclass(frozen=True, slots=True)
class Claim:
    """One client's claim."""

    client: int
    priority: int
    properties: ClaimProperties

    def to_json(self) -> dict[str, Any]:
        """Entry of the ``GET /claims`` list."""
        return {"client": self.client, "priority": self.priority} | (
            self.properties.to_json()
        )


@dataclass(frozen=True, slots=True)
class Target:
    """Outcome of the arbitration, and which client won each property."""

    active: bool
    pilot: int
    max_current: int
    state_client: int | None = None
    charge_current_client: int | None = None
    max_current_client: int | None = None


class ClaimsManager:
    """The set of claims and the version counter the firmware publishes."""

    def __init__(self) -> None:
        """Start with no claims."""
        self._claims: dict[int, Claim] = {}
        self.version = 0

    def __contains__(self, client: int) -> bool:
        """Whether ``client`` holds a claim."""
        return client in self._claims

    def get(self, client: int) -> Claim | None:
        """Return the claim of ``client``, if any."""
        return self._claims.get(client)

    def all(self) -> list[Claim]:
        """Every claim, in slot order."""
        return list(self._claims.values())

    def claim(self, client: int, priority: int, properties: ClaimProperties) -> None:
        """Make or replace a claim (raises :class:`ClaimError` when full)."""
        new = Claim(client, priority, properties)
        if client not in self._claims and len(self._claims) >= MAX_CLAIMS:
            raise ClaimError("no free claim slot")
        if self._claims.get(client) != new:
            self._claims[client] = new
            self.version += 1

    def release(self, client: int) -> bool:
        """Drop a claim; False if the client had none."""
        if self._claims.pop(client, None) is None:
            return False
        self.version += 1
        return True

    def release_auto(self) -> bool:
        """Drop every ``auto_release`` claim (vehicle unplugged)."""
        auto = [c.client for c in self._claims.values() if c.properties.auto_release]
        for client in auto:
            self.release(client)
        return bool(auto)

    def clear(self) -> None:
        """Forget everything (the gateway rebooted)."""
        self._claims.clear()
        self.version = 0

    def target(self, *, soft_max: int, hard_min: int) -> Target:
        """Arbitrate: per property, the highest priority claim wins."""
        state = self._winner(lambda p: p.state)
        charge = self._winner(lambda p: p.charge_current)
        maximum = self._winner(lambda p: p.max_current)
        effective_max = soft_max if maximum is None else min(soft_max, maximum[1])
        pilot = effective_max if charge is None else min(effective_max, charge[1])
        return Target(
            active=state is None or state[1] == STATE_ACTIVE,
            pilot=max(pilot, hard_min),
            max_current=effective_max,
            state_client=None if state is None else state[0].client,
            charge_current_client=None if charge is None else charge[0].client,
            max_current_client=None if maximum is None else maximum[0].client,
        )

    def _winner[T](
        self, value: Callable[[ClaimProperties], T | None]
    ) -> tuple[Claim, T] | None:
        """First claim with the highest priority among those setting a value."""
        best: tuple[Claim, T] | None = None
        for claim in self._claims.values():
            found = value(claim.properties)
            if found is not None and (
                best is None or claim.priority > best[0].priority
            ):
                best = (claim, found)
        return best
