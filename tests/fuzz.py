"""Shared pieces of the fuzz suite: settings, strategies, the sanity check.

Every parser and push path must turn any input into a valid snapshot or an
``EvseError``; nothing else may escape. "Valid" is :func:`assert_sane`:
every number finite, energies never negative, the state one we know.
"""

from __future__ import annotations

import json
import math
from dataclasses import fields
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from custom_components.evse_local.protocols.models import (
    ChargerSnapshot,
    ChargerState,
)

# Reproducible in CI (derandomize, no example database on disk) and quick:
# the whole fuzz suite adds seconds, not minutes, to the test run.
FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FUZZ_SLOW = settings(FUZZ, max_examples=40)
"""For examples that cost a network round trip."""

HUGE = 10**400

# Numbers as firmware (or a broken one) could write them.
numbers = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([HUGE, -HUGE, 0, -0.0, 1e308, -1e308, 1e-320, -2560, 0xFFFF]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=12))
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=8), children, max_size=4),
    ),
    max_leaves=12,
)


def documents(keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """JSON objects over the keys a reader looks at, and a few others."""
    return st.dictionaries(
        st.one_of(st.sampled_from(keys), st.text(max_size=6)),
        st.one_of(json_values, numbers, numbers),
        max_size=len(keys) + 2,
    )


def dump(value: Any) -> str:
    """JSON text, NaN and Infinity included (Python's json writes them)."""
    return json.dumps(value, allow_nan=True)


def _numbers_in(value: Any) -> list[float | int]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int | float):
        return [value]
    if isinstance(value, tuple | list | frozenset):
        return [n for item in value for n in _numbers_in(item)]
    return []


def assert_sane(snapshot: ChargerSnapshot) -> None:
    """A snapshot Home Assistant can show: finite numbers, no negative energy."""
    assert isinstance(snapshot, ChargerSnapshot)
    assert isinstance(snapshot.state, ChargerState)
    for field in fields(snapshot):
        for number in _numbers_in(getattr(snapshot, field.name)):
            # An int beyond a float would break every sensor that shows it.
            assert math.isfinite(float(number)), (field.name, number)
    for energy in (snapshot.session_energy, snapshot.lifetime_energy):
        assert energy is None or energy >= 0, energy
