"""OCPP 1.6J: a central system that charge points (Blink MQ 200) connect to."""

from .charger import OcppCharger
from .connection import BootInfo, CentralSystemStats
from .server import CentralSystem, PendingCharger, valid_charge_point_id
from .station import OcppStation

__all__ = [
    "BootInfo",
    "CentralSystem",
    "CentralSystemStats",
    "OcppCharger",
    "OcppStation",
    "PendingCharger",
    "valid_charge_point_id",
]
