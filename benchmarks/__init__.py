"""Benchmarks: EVSE Local against the simulated chargers, side by side.

Run ``python -m benchmarks`` from the repository root. Everything is counted
exactly (HTTP requests and RAPI frames on the simulator, bytes on the wire
through a loopback relay); times are reported, never asserted. See
:mod:`benchmarks.run` for what each row of the table means.
"""
