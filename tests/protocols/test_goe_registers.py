"""The go-e register table, its decoding and the read planner (no network).

The table is checked against the official register list in
``peers/go-e/modbus_registers_official.json``; scales follow what users
measured on real chargers (``observed_device_behaviour.json``).
"""

from __future__ import annotations

import itertools
import math
import random
import re
import struct

import pytest

from custom_components.evse_local.protocols.goe_modbus import registers as reg
from custom_components.evse_local.protocols.goe_modbus.registers import (
    MAX_GAP,
    MAX_READ,
    POLL_BLOCKS,
    REGISTERS,
    ROTATION_BLOCKS,
    SETUP_BLOCKS,
    DataType,
    Poll,
    ReadBlock,
    Readings,
    Register,
    Table,
    decode,
    encode,
    plan_reads,
)

from .peers import load_object, require_peers

OFFICIAL = "go-e/modbus_registers_official.json"

# The document's type column, as the table reads it. IP, SUBNET and GATEWAY
# say "1 byte per register" whatever their type column says.
DOCUMENTED_TYPES = {
    "uint16_t": DataType.UINT16,
    "uint32_t": DataType.UINT32,
    "float64": DataType.FLOAT64,
    "double": DataType.FLOAT64,
    "char[6]": DataType.MAC,
    "binary (10 byte)": DataType.BYTES,
    "ascii (4 byte)": DataType.ASCII,
    "ascii (12 byte)": DataType.ASCII,
}
ONE_BYTE_PER_REGISTER = {"IP", "SUBNET", "GATEWAY"}


def official_registers() -> list[dict[str, object]]:
    require_peers()
    registers = load_object(OFFICIAL)["registers"]
    assert isinstance(registers, list)
    return registers


def documented_addresses(entry: dict[str, object]) -> list[int]:
    """``"40334 (333) / 30335 (334)"`` -> [333, 334]; bare numbers as they are."""
    addresses = []
    for token in str(entry["address_as_documented"]).split("/"):
        wire = re.search(r"\((\d+)\)", token)
        addresses.append(int(wire.group(1) if wire else token.strip()))
    return addresses


def table_entry(entry: dict[str, object]) -> Register:
    found = [
        r
        for r in REGISTERS
        if r.name == entry["name"]
        and r.table == entry["table"]
        and r.address == entry["address_0based"]
    ]
    assert len(found) == 1, entry["name"]
    return found[0]


def words32(value: int) -> list[int]:
    return [value >> 16, value & 0xFFFF]


def words_float(value: float) -> list[int]:
    raw = struct.pack(">d", value)
    return [int.from_bytes(raw[i : i + 2]) for i in range(0, 8, 2)]


def words_text(text: bytes, count: int) -> list[int]:
    raw = text.ljust(2 * count, b"\x00")
    return [int.from_bytes(raw[i : i + 2]) for i in range(0, 2 * count, 2)]


# --- the table against the official list -------------------------------------


def test_every_official_register_is_in_the_table_once() -> None:
    official = official_registers()
    assert len(official) == len(REGISTERS) == 63
    matched = {id(table_entry(entry)) for entry in official}
    assert len(matched) == 63


def test_addresses_counts_tables_and_writability() -> None:
    disagreements = []
    for entry in official_registers():
        register = table_entry(entry)
        listed = documented_addresses(entry)
        assert listed[0] == register.address, entry["name"]
        assert listed == list(range(listed[0], listed[0] + len(listed)))
        if len(listed) != entry["count"]:
            disagreements.append(entry["name"])
        # Where the length column and the listed addresses disagree, the
        # addresses win: they are what the neighbouring registers agree with.
        assert register.count == len(listed), entry["name"]
        assert register.writable is (entry["write_fc"] == 16), entry["name"]
        assert entry["write_fc"] in (None, 16)  # never function 6
        assert entry["read_fc"] == (3 if register.table is Table.HOLDING else 4)
    assert disagreements == ["HOSTNAME"]


def test_data_types() -> None:
    for entry in official_registers():
        register = table_entry(entry)
        if register.name in ONE_BYTE_PER_REGISTER:
            assert register.type is DataType.IPV4
            continue
        assert register.type is DOCUMENTED_TYPES[str(entry["data_type_as_documented"])]


def test_hostname_ends_where_ip_starts() -> None:
    assert reg.HOSTNAME.end == reg.IP.address == 315


def test_read_registers_do_not_overlap() -> None:
    """Every register we ever read has its addresses to itself."""
    seen: dict[int, str] = {}
    for register in REGISTERS:
        if register.poll is Poll.NEVER:
            continue
        for address in register.addresses:
            assert address not in seen, (register.name, seen.get(address))
            seen[address] = register.name


def test_the_overlapping_area_is_never_read() -> None:
    """Holding 332..337 and input 332..371 share memory: nothing there is read."""
    overlap = [r for r in REGISTERS if set(r.addresses) & set(range(332, 338))]
    assert {r.name for r in overlap} == {
        "PHASE_SWITCH_MODE",
        "ENERGY_LIMIT",
        "FORCE_STATE",
        "ENERGY_CARD0",
        "ENERGY_CARD1",
    }
    assert all(r.poll is Poll.NEVER for r in overlap)
    planned = {r for block in SETUP_BLOCKS for r in block.registers}
    assert not planned & set(overlap)
    assert all(block.end <= 327 for block in SETUP_BLOCKS)


def test_scales_and_units() -> None:
    """Scales as measured, not as (partly) documented."""
    expected = {
        "AMP_L1": (0.1, "A"),
        "POWER_TOTAL": (0.01, "W"),
        "POWER_L1": (0.1, "W"),
        "POWER_L2": (0.1, "W"),
        "POWER_L3": (0.1, "W"),
        "ENERGY_TOTAL": (0.1, "kWh"),
        "ENERGY_CHARGE": (10, "Ws"),
        "POWER_FACTOR_L1": (1, "%"),
        "VOLT_L1": (1, "V"),
    }
    by_name = {r.name: r for r in REGISTERS}
    for name, (scale, unit) in expected.items():
        assert (by_name[name].scale, by_name[name].unit) == (scale, unit), name


def test_a_table_typo_fails_at_import() -> None:
    with pytest.raises(ValueError, match="takes 2 registers"):
        Register(
            name="BAD",
            address=1,
            table=Table.INPUT,
            type=DataType.UINT32,
            count=1,
            poll=Poll.NEVER,
        )


# --- decoding -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("register", "words", "value"),
    [
        # Document examples.
        (reg.AMP_L1, words32(123), 12.3),
        (reg.ENERGY_TOTAL, words32(360), 36.0),
        (reg.ENERGY_CHARGE, words32(100_000), 1_000_000),
        # Measured on firmware 055.5: 25000 at ~2500 W on L1, 600000 at ~6000 W.
        (reg.POWER_L1, words32(25_000), 2500.0),
        (reg.POWER_TOTAL, words32(600_000), 6000.0),
        (reg.VOLT_L2, [0, 231], 231),
        (reg.POWER_FACTOR_L3, [0, 99], 99),
        # Big-endian words: high word first.
        (reg.ENERGY_CHARGE, [0x0001, 0x86A0], 1_000_000),
        (reg.CAR_STATE, [2], 2),
        (reg.PP_CABLE, [0], 0),
        (reg.PP_CABLE, [20], 20),
        (reg.LED_BRIGHTNESS, [255], 255),
        (reg.AMPERE_L3, [0], 0),
        (reg.UNLOCKED_BY, [7], 7),
    ],
)
def test_decode_numbers(register: Register, words: list[int], value: float) -> None:
    decoded = decode(register, words)
    assert decoded == value
    assert type(decoded) is type(value)


@pytest.mark.parametrize(
    ("register", "words"),
    [
        (reg.LED_BRIGHTNESS, [0xFFFF]),  # what a 205..206 block read gives
        (reg.ERROR, [0xFFFF]),
        (reg.ENERGY_TOTAL, [0xFFFF, 0xFFFF]),
        (reg.CAR_STATE, [5]),
        (reg.PP_CABLE, [12]),
        (reg.AMPERE_L1, [3]),
        (reg.AMPERE_VOLATILE, [0x1000]),  # 16 with swapped bytes (firmware 60.3)
        (reg.POWER_FACTOR_L1, [0, 101]),
        (reg.VOLT_L1, [0xFFFF, 0]),
        (reg.CAR_STATE, []),
        (reg.CAR_STATE, [1, 2]),
        (reg.CAR_STATE, [0x10000]),
        (reg.CAR_STATE, [-1]),
    ],
)
def test_decode_garbage_is_none(register: Register, words: list[int]) -> None:
    assert decode(register, words) is None


def test_decode_text() -> None:
    assert decode(reg.FWV, words_text(b"60.4", 2)) == "60.4"
    assert decode(reg.SNR, words_text(b"041580", 6)) == "041580"
    assert decode(reg.HOSTNAME, words_text(b"goe-041580", 5)) == "goe-041580"
    assert decode(reg.SNR, words_text(b"041580\x00junk", 6)) == "041580"
    assert decode(reg.SNR, words_text(b" 041580 ", 6)) == "041580"
    assert decode(reg.SNR, [0xFFFF] * 6) is None
    assert decode(reg.SNR, [0] * 6) is None
    assert decode(reg.SNR, words_text("0415é".encode(), 6)) is None
    assert decode(reg.SNR, words_text(b"04\x0715", 6)) is None


def test_decode_mac_ip_bytes() -> None:
    assert decode(reg.MAC, [0x0267, 0x6500, 0x0E5E]) == "02:67:65:00:0e:5e"
    assert decode(reg.MAC, [0, 0, 0]) is None
    assert decode(reg.MAC, [0xFFFF] * 3) is None
    assert decode(reg.IP, [192, 168, 0, 10]) == "192.168.0.10"
    assert decode(reg.SUBNET, [255, 255, 255, 0]) == "255.255.255.0"
    assert decode(reg.GATEWAY, [192, 168, 0, 0x100]) is None
    assert decode(reg.RFID_CARD, [0x0412, 0x3456, 0, 0, 0]) == "04123456" + "0" * 12
    assert decode(reg.RFID_CARD, [0xFFFF] * 5) is None


def test_decode_float64() -> None:
    assert decode(reg.ENERGY_LIMIT, words_float(math.inf)) == math.inf
    assert decode(reg.ENERGY_CARDS[0], words_float(1234.5)) == 1234.5
    assert decode(reg.ENERGY_CARDS[9], words_float(math.nan)) is None


def test_encode() -> None:
    assert encode(reg.ALLOW, 0) == [0]
    assert encode(reg.AMPERE_VOLATILE, 32) == [32]
    assert encode(reg.AMPERE_L5, 0) == [0]
    assert encode(reg.ELECTRICITY_PRICES_ZONE, 3) == [3]
    for register, value, message in (
        (reg.CAR_STATE, 1, "read-only"),
        (reg.ENERGY_LIMIT, 1, "not supported"),
        (reg.ALLOW, True, "16-bit"),
        (reg.ALLOW, -1, "16-bit"),
        (reg.ELECTRICITY_PRICES_ZONE, 0xFFFF, "16-bit"),
        (reg.AMPERE_VOLATILE, 5, "out of range"),
        (reg.AMPERE_VOLATILE, 33, "out of range"),
        (reg.AMPERE_L2, 4, "out of range"),
        (reg.LED_BRIGHTNESS, 256, "out of range"),
    ):
        with pytest.raises(ValueError, match=message):
            encode(register, value)


def test_readings() -> None:
    readings = Readings()
    assert readings.raw(reg.VOLT_L1) is None
    assert readings.value(reg.VOLT_L1) is None
    readings.update(108, [0])
    assert readings.raw(reg.VOLT_L1) is None  # one word of two
    readings.update(109, [230])
    assert readings.integer(reg.VOLT_L1) == 230
    assert readings.number(reg.VOLT_L1) == 230.0
    assert readings.text(reg.VOLT_L1) is None
    readings.update(105, words_text(b"60.4", 2))
    assert readings.text(reg.FWV) == "60.4"
    assert readings.number(reg.FWV) is None
    assert readings.integer(reg.FWV) is None
    readings.update(114, words32(123))
    assert readings.integer(reg.AMP_L1) is None  # 12.3 A is not whole
    assert readings.number(reg.AMP_L1) == 12.3


# --- planning -------------------------------------------------------------------


def spans(blocks: tuple[ReadBlock, ...]) -> list[tuple[int, int, int]]:
    return [(block.address, block.count, block.function) for block in blocks]


def test_steady_poll_is_one_transaction() -> None:
    assert spans(POLL_BLOCKS) == [(100, 60, 4)]
    assert spans(ROTATION_BLOCKS) == [(200, 6, 3), (206, 13, 3), (299, 2, 3)]


def test_every_setting_is_refreshed_by_the_rotation() -> None:
    covered = {r for block in ROTATION_BLOCKS for r in block.registers}
    settings = {r for r in REGISTERS if r.poll is Poll.ROTATION}
    assert covered == settings
    assert reg.AMPERE_VOLATILE in covered
    assert reg.AMPERE_EEPROM in covered
    assert len(ROTATION_BLOCKS) <= 3  # every setting read within 3 rounds


def test_setup_reads_everything_worth_reading() -> None:
    assert spans(SETUP_BLOCKS) == [
        (100, 60, 4),
        (200, 6, 3),
        (206, 13, 3),
        (299, 28, 3),
    ]
    planned = {r for block in SETUP_BLOCKS for r in block.registers}
    wanted = {r for r in REGISTERS if r.poll is not Poll.NEVER}
    assert planned == wanted - {reg.ALLOW_INPUT}
    fwv_block = next(b for b in SETUP_BLOCKS if b.address <= 105 < b.end)
    assert fwv_block.function == 4


def assert_block_rules(blocks: tuple[ReadBlock, ...]) -> None:
    documented = {a for r in REGISTERS for a in r.addresses}
    for block in blocks:
        assert 1 <= block.count <= MAX_READ
        assert not (block.address <= 205 and block.end > 206), spans((block,))
        assert all(
            block.address <= r.address and r.end <= block.end for r in block.registers
        )
        assert block.function == (
            3 if any(r.table is Table.HOLDING for r in block.registers) else 4
        )
        run = 0
        for address in range(block.address, block.end):
            run = 0 if address in documented else run + 1
            assert run <= MAX_GAP, (spans((block,)), address)


def test_planner_rules_hold_for_any_selection() -> None:
    readable = [r for r in REGISTERS if r.poll is not Poll.NEVER]
    rng = random.Random(206)  # noqa: S311 - reproducible selections, not secrets
    selections = [
        rng.sample(readable, rng.randint(1, len(readable))) for _ in range(300)
    ]
    selections += [list(pair) for pair in itertools.combinations(readable, 2)]
    for selection in selections:
        blocks = plan_reads(selection)
        assert_block_rules(blocks)
        covered = {r for block in blocks for r in block.registers}
        assert {(r.address, r.count) for r in covered} == {
            (r.address, r.count) for r in selection
        }


def test_planner_never_reads_205_with_206() -> None:
    assert spans(plan_reads([reg.PHASES, reg.LED_BRIGHTNESS])) == [
        (205, 1, 4),
        (206, 1, 3),
    ]
    # Even when 206 itself is not wanted, a block may not run across it.
    assert spans(plan_reads([reg.PHASES, reg.LED_SAVE_ENERGY])) == [
        (205, 1, 4),
        (207, 1, 3),
    ]
    assert spans(plan_reads([reg.LED_BRIGHTNESS, reg.LED_SAVE_ENERGY])) == [(206, 2, 3)]


def test_planner_limits() -> None:
    assert spans(plan_reads([reg.CAR_STATE, reg.POWER_FACTOR_N], max_count=30)) == [
        (100, 1, 4),
        (158, 2, 4),
    ]
    # 134..143 are undocumented: ten registers.
    assert len(plan_reads([reg.ENERGY_CHARGE, reg.VOLT_N], max_gap=9)) == 2
    assert len(plan_reads([reg.ENERGY_CHARGE, reg.VOLT_N], max_gap=10)) == 1
    # 160..199 are undocumented: never read over.
    assert len(plan_reads([reg.POWER_FACTOR_N, reg.ALLOW])) == 2
    assert plan_reads([]) == ()


def test_allow_documented_twice_is_read_once() -> None:
    (block,) = plan_reads([reg.ALLOW_INPUT, reg.ALLOW])
    assert block.registers == (reg.ALLOW,)
    assert (block.address, block.count, block.function) == (200, 1, 3)
