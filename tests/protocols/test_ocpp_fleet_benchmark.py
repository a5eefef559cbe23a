"""The fleet benchmark's tail attribution: which slow frames a collection held up."""

from __future__ import annotations

from benchmarks.ocpp_fleet import held_by_collections


def test_only_the_slowest_percent_and_only_long_pauses_count() -> None:
    # 200 frames: the slowest 1 % are the last two.
    spans = [(float(n), n + 0.001) for n in range(198)]
    spans += [(1000.0, 1000.3), (2000.0, 2000.2)]
    pauses = [
        (1000.25, 2, 200.0),  # 1000.05-1000.25: inside the first slow frame
        (2000.1, 0, 5.0),  # inside the second, but too short to matter
        (5.0005, 2, 300.0),  # over a fast frame: not in the tail
        (3000.0, 2, 500.0),  # after every frame
    ]
    assert held_by_collections(spans, pauses) == (2, 1)


def test_a_pause_ending_before_the_frame_arrived_holds_nothing() -> None:
    spans = [(10.0, 10.4)]
    assert held_by_collections(spans, [(9.99, 2, 300.0)]) == (1, 0)
    assert held_by_collections(spans, [(10.01, 2, 300.0)]) == (1, 1)
    assert held_by_collections([], [(10.01, 2, 300.0)]) == (0, 0)
