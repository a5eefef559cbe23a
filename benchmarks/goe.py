"""go-e Charger over Modbus TCP: EVSE Local next to a hand-written YAML setup.

EVSE Local reads the input block 100..159 at every poll, and one settings
block every ``SETTINGS_EVERY`` polls (``charger.poll()``, what its
coordinator calls): a steady poll is one transaction, the average a little
more. The comparison is how a
go-e is usually integrated without a dedicated integration: Home
Assistant's ``modbus:`` YAML with one entity per register, each read with
its own transaction. The same entities are counted here, one read each,
against the same simulator and through the same byte-counting relay.

Writes: EVSE Local changes the current with ``set_max_current(amps)`` (299,
volatile, function 16, read back). A YAML setup writes with the
``modbus.write_register`` action: one value goes out as function 6, which
the charger does not implement; a list goes out as function 16, and on 300
every change is an EEPROM write. Both are measured.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from pymodbus.client import AsyncModbusTcpClient

from custom_components.evse_local.protocols.errors import EvseError
from custom_components.evse_local.protocols.goe_modbus import connect_goe
from custom_components.evse_local.protocols.goe_modbus import registers as reg
from custom_components.evse_local.protocols.goe_modbus.charger import SETTINGS_EVERY
from custom_components.evse_local.protocols.goe_modbus.client import GoeModbusClient
from custom_components.evse_local.protocols.goe_modbus.registers import Register, Table
from simulators import GoeSimulator, start_simulator

from .common import IDENTITY_SEED, POLL_STEP_SECONDS, Timing
from .evse_local import EEPROM_AMPS, _latencies
from .wire import WireTap

# The registers behind the snapshot fields EVSE Local fills for a go-e: one
# YAML entity each.
ENTITY_REGISTERS: tuple[Register, ...] = (
    reg.CAR_STATE,
    reg.PP_CABLE,
    reg.ERROR,
    *reg.PHASE_VOLTAGES,
    *reg.PHASE_CURRENTS,
    reg.POWER_TOTAL,
    reg.ENERGY_TOTAL,
    reg.ENERGY_CHARGE,
    reg.VOLT_N,
    *reg.PHASE_POWERS,
    *reg.PHASE_POWER_FACTORS,
    reg.ALLOW,
    reg.ACCESS_STATE,
    reg.CABLE_LOCK_MODE,
    reg.PHASES,
    reg.LED_BRIGHTNESS,
    reg.LED_SAVE_ENERGY,
    reg.AMPERE_MAX,
    *reg.BUTTON_LEVELS,
    reg.CLOUD_DISABLED,
    reg.AMPERE_VOLATILE,
)

TRANSACTIONS_TARGET = 1
RATIO_TARGET = 10


@dataclass(slots=True)
class ModbusTraffic:
    """Modbus transactions and wire bytes over a number of operations."""

    operations: int
    transactions: int
    functions: dict[int, int]
    bytes_down: int
    bytes_up: int
    errors: int = 0
    first_error: str | None = None

    @property
    def transactions_per_op(self) -> float:
        """Transactions per operation."""
        return self.transactions / self.operations

    @property
    def bytes_down_per_op(self) -> float:
        """Bytes from the charger per operation."""
        return self.bytes_down / self.operations

    @property
    def bytes_up_per_op(self) -> float:
        """Bytes to the charger per operation."""
        return self.bytes_up / self.operations


@dataclass(slots=True)
class GoeResults:
    """Everything measured on the go-e simulator."""

    entities: int
    setup: ModbusTraffic
    poll: ModbusTraffic
    """Every poll, settings reads included (the average)."""
    steady: ModbusTraffic
    """The polls that read only the input block."""
    per_entity: ModbusTraffic
    client_estimate_exact: bool
    pause: Timing
    max_current: Timing
    changes: ModbusTraffic
    eeprom_writes: int
    yaml_function_6: ModbusTraffic
    yaml_function_16_eeprom_writes: int
    notes: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        """How many times fewer transactions than one read per entity."""
        return self.per_entity.transactions_per_op / self.poll.transactions_per_op

    @property
    def settings_every(self) -> int:
        """Polls per settings block read."""
        return SETTINGS_EVERY


def _traffic(sim: GoeSimulator, tap: WireTap, operations: int) -> ModbusTraffic:
    return ModbusTraffic(
        operations=operations,
        transactions=sum(sim.transactions.values()),
        functions=dict(sorted(sim.transactions.items())),
        bytes_down=tap.bytes_down,
        bytes_up=tap.bytes_up,
    )


def _reset(sim: GoeSimulator, tap: WireTap) -> None:
    sim.reset_counters()
    tap.reset()


def _relay_port(tap: WireTap) -> int:
    return int(tap.host.rpartition(":")[2])


async def _per_entity(sim: GoeSimulator, tap: WireTap, polls: int) -> ModbusTraffic:
    """One read per entity and scan, like a YAML ``modbus:`` configuration."""
    client = GoeModbusClient("127.0.0.1", port=_relay_port(tap))
    try:
        await client.connect()
        _reset(sim, tap)
        for _ in range(polls):
            sim.advance(POLL_STEP_SECONDS)
            for register in ENTITY_REGISTERS:
                function = 3 if register.table is Table.HOLDING else 4
                await client.read(register.address, register.count, function=function)
        return _traffic(sim, tap, polls)
    finally:
        await client.close()


async def _yaml_writes(
    sim: GoeSimulator, tap: WireTap, changes: int
) -> tuple[ModbusTraffic, int]:
    """``modbus.write_register``: one value (function 6), then a list to 300."""
    client = AsyncModbusTcpClient("127.0.0.1", port=_relay_port(tap), retries=0)
    try:
        await client.connect()
        _reset(sim, tap)
        refused = 0
        amps_cycle = itertools.islice(itertools.cycle(EEPROM_AMPS), changes)
        for amps in amps_cycle:
            response = await client.write_register(reg.AMPERE_VOLATILE.address, amps)
            refused += response.isError()
        single = _traffic(sim, tap, changes)
        single.errors = refused
        if refused:
            single.first_error = "exception 1 (illegal function)"
        _reset(sim, tap)
        for amps in itertools.islice(itertools.cycle(EEPROM_AMPS), changes):
            await client.write_registers(reg.AMPERE_EEPROM.address, [amps])
        return single, sim.eeprom_writes
    finally:
        client.close()


async def measure_goe(*, polls: int, reps: int, changes: int) -> GoeResults:
    """Set up, poll, command and wear-test EVSE Local on the go-e simulator."""
    async with start_simulator("goe", identity_seed=IDENTITY_SEED) as sim:
        sim.model.plug_in()
        sim.advance(60)
        async with WireTap(sim.ip, sim.port) as tap:
            _reset(sim, tap)
            charger = await connect_goe("127.0.0.1", port=_relay_port(tap))
            await charger.poll()  # the coordinator's first refresh
            setup = _traffic(sim, tap, 1)

            _reset(sim, tap)
            client = charger.client
            sent, received = client.bytes_sent, client.bytes_received
            steady = ModbusTraffic(0, 0, {}, 0, 0)
            for _ in range(polls):
                sim.advance(POLL_STEP_SECONDS)
                before = _traffic(sim, tap, 1)
                await charger.poll()
                after = _traffic(sim, tap, 1)
                if after.transactions - before.transactions == 1:
                    steady.operations += 1
                    steady.transactions += 1
                    steady.bytes_down += after.bytes_down - before.bytes_down
                    steady.bytes_up += after.bytes_up - before.bytes_up
                    for function, count in after.functions.items():
                        done = count - before.functions.get(function, 0)
                        if done:
                            steady.functions[function] = (
                                steady.functions.get(function, 0) + done
                            )
            poll = _traffic(sim, tap, polls)
            exact = (client.bytes_sent - sent, client.bytes_received - received) == (
                tap.bytes_up,
                tap.bytes_down,
            )

            pause, max_current = await _latencies(charger, reps)
            await charger.set_paused(False)

            _reset(sim, tap)
            errors = 0
            first_error: str | None = None
            for amps in itertools.islice(itertools.cycle(EEPROM_AMPS), changes):
                try:
                    await charger.set_max_current(amps)
                except EvseError as err:
                    errors += 1
                    first_error = first_error or repr(err)
            changed = _traffic(sim, tap, changes)
            changed.errors, changed.first_error = errors, first_error
            eeprom_writes = sim.eeprom_writes
            await charger.close()

            per_entity = await _per_entity(sim, tap, polls)
            yaml_single, yaml_eeprom = await _yaml_writes(sim, tap, changes)
    return GoeResults(
        entities=len(ENTITY_REGISTERS),
        setup=setup,
        poll=poll,
        steady=steady,
        per_entity=per_entity,
        client_estimate_exact=exact,
        pause=pause,
        max_current=max_current,
        changes=changed,
        eeprom_writes=eeprom_writes,
        yaml_function_6=yaml_single,
        yaml_function_16_eeprom_writes=yaml_eeprom,
    )
