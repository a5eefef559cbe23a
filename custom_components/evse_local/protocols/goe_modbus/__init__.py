"""go-e Charger over Modbus TCP: the register table, a client and the adapter."""

from .charger import GoeCharger, connect_goe
from .client import GoeModbusClient
from .registers import REGISTERS, ReadBlock, Readings, Register, plan_reads

__all__ = [
    "REGISTERS",
    "GoeCharger",
    "GoeModbusClient",
    "ReadBlock",
    "Readings",
    "Register",
    "connect_goe",
    "plan_reads",
]
