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

# Blink MQ 200 and other OCPP 1.6J chargers: they connect to us.
PROTOCOL_OCPP: Final = "ocpp"
CONF_CHARGE_POINT_ID: Final = "charge_point_id"
CONF_BIND_ADDRESS: Final = "bind_address"
CONF_SSL_CERTIFICATE: Final = "ssl_certificate"
CONF_SSL_KEY: Final = "ssl_key"
CONF_MAX_CURRENT: Final = "max_current"
DEFAULT_OCPP_PORT: Final = 9000
DEFAULT_BIND_ADDRESS: Final = "0.0.0.0"  # noqa: S104 - chargers are on the LAN
# The MQ 200 is built for 12..50 A; what a home circuit allows is the user's call.
DEFAULT_OCPP_MAX_CURRENT: Final = 32
OCPP_MAX_CURRENT_RANGE: Final = (6, 50)
# Heartbeats every minute; two missed ones make the charger unavailable.
OCPP_HEARTBEAT_INTERVAL: Final = 60
# MeterValues every 10 s: live enough for dashboards and solar control. An
# option per charger: longer for less traffic, shorter near a session limit.
CONF_METER_INTERVAL: Final = "meter_interval"
OCPP_METER_INTERVAL: Final = 10
OCPP_METER_INTERVAL_RANGE: Final = (5, 900)
# The owner's RFID cards (options), and whether any card may charge.
CONF_ID_TAGS: Final = "id_tags"
CONF_FREE_CHARGING: Final = "free_charging"

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

# The session ledger: a price per kWh for each session's cost.
CONF_PRICE_SENSOR: Final = "price_sensor"
# Planned charging to a state of charge: the car's charge sensor and battery.
CONF_CAR_SOC: Final = "car_soc"
CONF_CAR_BATTERY: Final = "car_battery"
# Planned charging without a price forecast: a fixed daily off-peak window.
CONF_OFF_PEAK_START: Final = "off_peak_start"
CONF_OFF_PEAK_END: Final = "off_peak_end"
# Planned charging with the sun: solar forecast sensors and the house's use.
CONF_SOLAR_FORECAST: Final = "solar_forecast"
CONF_HOUSE_POWER: Final = "house_power"
DEFAULT_HOUSE_POWER: Final = 500
