"""One exception hierarchy for every wire protocol."""

from __future__ import annotations


class EvseError(Exception):
    """Base class for everything a charger or its transport can do wrong."""


class EvseConnectionError(EvseError):
    """The charger could not be reached (refused, reset, DNS, HTTP 5xx)."""


class EvseTimeoutError(EvseConnectionError):
    """The charger did not answer in time."""


class EvseAuthenticationError(EvseError):
    """The charger asked for credentials we do not have (HTTP 401)."""


class EvseProtocolError(EvseError):
    """The charger answered, but with something we cannot trust.

    Bad checksum, wrong sequence id, wrong field count, HTML where JSON was
    expected, JSON with stray bytes: all of them end up here.
    """


class EvseCommandRejectedError(EvseError):
    """The charger understood the command and refused it (RAPI ``$NK``)."""

    def __init__(self, command: str, reply: str = "") -> None:
        """Remember which command was refused and what came back."""
        super().__init__(f"{command} was rejected: {reply or 'no detail'}")
        self.command = command
        self.reply = reply


class EvseCommandBlockedError(EvseCommandRejectedError):
    """The WiFi firmware blocks this RAPI command (``RAPI_RESPONSE_BLOCKED``)."""


class EvseWriteNotAppliedError(EvseCommandRejectedError):
    """The charger accepted a write but reading it back shows the old value.

    Seen on go-e firmware 57.1 (volatile current) and beta 60 (every write):
    only a firmware update helps.
    """


class EvseVehicleRequiredError(EvseCommandRejectedError):
    """The command is only accepted while a vehicle is connected."""


class EvseUnsupportedError(EvseError):
    """The charger cannot do this at all (feature absent in its firmware)."""


class EvsePortInUseError(EvseConnectionError):
    """The central system could not bind its port (another process holds it)."""
