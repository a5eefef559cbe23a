"""Constants for EVSE Local."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Final

DOMAIN: Final = "evse_local"
LOGGER = logging.getLogger(__package__)

CONF_PERSIST_MAX_CURRENT: Final = "persist_max_current"
CONF_PROTOCOL: Final = "protocol"
CONF_UNIT_ID: Final = "unit_id"
PROTOCOL_HTTP: Final = "http"
PROTOCOL_MODBUS: Final = "modbus"
DEFAULT_MODBUS_PORT: Final = 502
DEFAULT_UNIT_ID: Final = 1
# go-e announces _go-e_go-eCharger._tcp and _go-e_go-eCharger_V4._tcp.
GOE_SERVICE_PREFIX: Final = "_go-e_"
DEFAULT_SCAN_INTERVAL: Final = timedelta(seconds=10)
MIN_SCAN_INTERVAL_SECONDS: Final = 5
MAX_SCAN_INTERVAL_SECONDS: Final = 300

# After the push connection drops, try again quickly, then back off a little:
# a charger back from a reboot should be live again within seconds.
PUSH_RETRY_INITIAL: Final = 1.0
PUSH_RETRY_MAX: Final = 5.0
# A car takes a moment to draw current after a resume: read once more then.
COMMAND_FOLLOW_UP_SECONDS: Final = 2.0

# Energy management: charging groups and solar charging.
CONF_KIND: Final = "kind"
KIND_GROUP: Final = "group"
CONF_GROUP_ID: Final = "group_id"
CONF_MEMBERS: Final = "members"
CONF_CIRCUIT_LIMIT: Final = "circuit_limit"
CONF_POLICY: Final = "policy"
CONF_FALLBACK_CURRENT: Final = "fallback_current"
CONF_CIRCUIT_METER: Final = "circuit_meter"
CONF_VOLTAGE: Final = "voltage"
CONF_PHASES: Final = "phases"
CONF_CONTROL_INTERVAL: Final = "control_interval"
CONF_GRID_POWER: Final = "grid_power"
CONF_GRID_POWER_SIGN: Final = "grid_power_sign"
CONF_BATTERY_POWER: Final = "battery_power"
CONF_BATTERY_POWER_SIGN: Final = "battery_power_sign"
CONF_BATTERY_SOC: Final = "battery_soc"
CONF_BATTERY_FIRST_SOC: Final = "battery_first_soc"
# Changed at run time by the group's (or charger's) select and numbers.
CONF_SOLAR_MODE: Final = "solar_mode"
CONF_START_DELAY: Final = "start_delay"
CONF_STOP_DELAY: Final = "stop_delay"
SIGN_POSITIVE_IMPORT: Final = "positive_import"
SIGN_POSITIVE_EXPORT: Final = "positive_export"
SIGN_POSITIVE_CHARGE: Final = "positive_charge"
SIGN_POSITIVE_DISCHARGE: Final = "positive_discharge"
DEFAULT_VOLTAGE: Final = 230
DEFAULT_FALLBACK_CURRENT: Final = 6
DEFAULT_CONTROL_INTERVAL: Final = 10
SIGNAL_CHARGER_CHANGED: Final = f"{DOMAIN}_charger_changed"
