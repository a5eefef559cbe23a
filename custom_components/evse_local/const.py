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
# MeterValues every 10 s: live enough for dashboards and solar control.
OCPP_METER_INTERVAL: Final = 10
