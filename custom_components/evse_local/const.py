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
