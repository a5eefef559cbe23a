"""Config flow: chargers (manual, zeroconf, reauth, reconfigure), groups, options."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit
from uuid import uuid4

import probatio
from homeassistant.config_entries import (
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.const import (
    ATTR_UNIT_OF_MEASUREMENT,
    CONF_HOST,
    CONF_NAME,
    CONF_PASSWORD,
    CONF_PORT,
    CONF_SCAN_INTERVAL,
    CONF_USERNAME,
    PERCENTAGE,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    UnitOfElectricCurrent,
    UnitOfPower,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import AbortFlow
from homeassistant.helpers.network import NoURLAvailableError, get_url
from homeassistant.helpers.selector import (
    BooleanSelector,
    DateTimeSelector,
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
    TimeSelector,
)
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo
from homeassistant.helpers.typing import DiscoveryInfoType
from homeassistant.util import dt as dt_util
from yarl import URL

from .const import (
    CONF_BATTERY_FIRST_SOC,
    CONF_BATTERY_POWER,
    CONF_BATTERY_POWER_SIGN,
    CONF_BATTERY_SOC,
    CONF_BIND_ADDRESS,
    CONF_CAR_BATTERY,
    CONF_CAR_SOC,
    CONF_CHARGE_POINT_ID,
    CONF_CIRCUIT_LIMIT,
    CONF_CIRCUIT_METER,
    CONF_CONTROL_INTERVAL,
    CONF_FALLBACK_CURRENT,
    CONF_FREE_CHARGING,
    CONF_GRID_POWER,
    CONF_GRID_POWER_SIGN,
    CONF_GROUP_ID,
    CONF_HOUSE_POWER,
    CONF_ID_TAGS,
    CONF_KIND,
    CONF_MAX_CURRENT,
    CONF_MEMBERS,
    CONF_METER_INTERVAL,
    CONF_OFF_PEAK_END,
    CONF_OFF_PEAK_START,
    CONF_PERSIST_MAX_CURRENT,
    CONF_PHASES,
    CONF_POLICY,
    CONF_PRICE_SENSOR,
    CONF_PROTOCOL,
    CONF_SOLAR_FORECAST,
    CONF_SOLAR_MODE,
    CONF_SSL_CERTIFICATE,
    CONF_SSL_KEY,
    CONF_START_DELAY,
    CONF_STOP_DELAY,
    CONF_UNIT_ID,
    CONF_VOLTAGE,
    DEFAULT_BIND_ADDRESS,
    DEFAULT_CONTROL_INTERVAL,
    DEFAULT_FALLBACK_CURRENT,
    DEFAULT_MODBUS_PORT,
    DEFAULT_OCPP_MAX_CURRENT,
    DEFAULT_OCPP_PORT,
    DEFAULT_SCAN_INTERVAL,
    DEFAULT_UNIT_ID,
    DEFAULT_VOLTAGE,
    DOMAIN,
    GOE_SERVICE_PREFIX,
    KIND_GROUP,
    LOGGER,
    MAX_SCAN_INTERVAL_SECONDS,
    MIN_SCAN_INTERVAL_SECONDS,
    OCPP_MAX_CURRENT_RANGE,
    OCPP_METER_INTERVAL,
    OCPP_METER_INTERVAL_RANGE,
    PROTOCOL_MODBUS,
    PROTOCOL_OCPP,
    SIGN_POSITIVE_CHARGE,
    SIGN_POSITIVE_DISCHARGE,
    SIGN_POSITIVE_EXPORT,
    SIGN_POSITIVE_IMPORT,
)
from .energy import J1772_MIN_CURRENT, Policy
from .energy.sessions import price_unit
from .energy.solar_forecast import SolarDataError, parse_solar_attributes
from .group import charger_entries, group_entries, group_of
from .helpers import async_connect
from .id_tags import (
    IdTagError,
    async_apply,
    authorization_from_options,
    loaded_station,
    new_id_tag,
    options_with,
    without_id_tags,
)
from .ocpp_server import (
    async_ssl_context,
    running_ports,
    running_server,
    server_address,
    tls_files,
    tls_in_use,
)
from .protocols.errors import (
    EvseAuthenticationError,
    EvseConnectionError,
    EvseError,
    EvseWriteNotAppliedError,
)
from .protocols.models import DeviceInfo
from .protocols.ocpp import valid_charge_point_id
from .protocols.ocpp.authorization import Authorization
from .runtime import EvseConfigEntry, is_group

if TYPE_CHECKING:
    from .protocols.ocpp import OcppCharger

_CREDENTIALS = {
    probatio.Optional(CONF_USERNAME): TextSelector(
        TextSelectorConfig(autocomplete="username")
    ),
    probatio.Optional(CONF_PASSWORD): TextSelector(
        TextSelectorConfig(type=TextSelectorType.PASSWORD)
    ),
}


def _host_schema(host: str | None, *, stored_password: bool = False) -> probatio.Schema:
    return probatio.Schema(
        {
            probatio.Required(CONF_HOST, default=host or ""): TextSelector(
                TextSelectorConfig(autocomplete="off")
            ),
            **_CREDENTIALS,
            **_removal(stored_password),
        }
    )


CONF_REMOVE_PASSWORD = "remove_password"  # noqa: S105 - a field name


def _removal(stored_password: bool) -> dict[Any, Any]:
    """Offer the "remove the password" check box when there is one to remove."""
    if not stored_password:
        return {}
    return {probatio.Optional(CONF_REMOVE_PASSWORD, default=False): BooleanSelector()}


def _new_password(
    user_input: Mapping[str, Any], stored: str | None
) -> tuple[str | None, dict[str, str]]:
    """Return the password a reconfigure form leaves: typed, kept or removed.

    The stored password is never sent to the browser, so an empty field
    means "keep it"; only the check box removes it.
    """
    typed = user_input.get(CONF_PASSWORD) or None
    if user_input.get(CONF_REMOVE_PASSWORD):
        if typed is not None:
            return stored, {CONF_REMOVE_PASSWORD: "password_and_remove"}
        return None, {}
    return typed or stored, {}


def _without_secrets(values: Mapping[str, Any]) -> dict[str, Any]:
    """Form values safe to send to the browser."""
    return {key: value for key, value in values.items() if key != CONF_PASSWORD}


_MODBUS_SCHEMA = probatio.Schema(
    {
        probatio.Required(CONF_HOST): TextSelector(
            TextSelectorConfig(autocomplete="off")
        ),
        probatio.Required(CONF_PORT, default=DEFAULT_MODBUS_PORT): NumberSelector(
            NumberSelectorConfig(min=1, max=65535, mode=NumberSelectorMode.BOX)
        ),
        probatio.Required(CONF_UNIT_ID, default=DEFAULT_UNIT_ID): NumberSelector(
            NumberSelectorConfig(min=1, max=247, mode=NumberSelectorMode.BOX)
        ),
    }
)


_MAX_CURRENT_SELECTOR = NumberSelector(
    NumberSelectorConfig(
        min=OCPP_MAX_CURRENT_RANGE[0],
        max=OCPP_MAX_CURRENT_RANGE[1],
        step=1,
        unit_of_measurement="A",
        mode=NumberSelectorMode.BOX,
    )
)
_OCPP_PASSWORD = {
    probatio.Optional(CONF_PASSWORD): TextSelector(
        TextSelectorConfig(type=TextSelectorType.PASSWORD)
    ),
}
_OCPP_CONFIRM_SCHEMA = probatio.Schema(
    {
        **_OCPP_PASSWORD,
        probatio.Required(
            CONF_MAX_CURRENT, default=DEFAULT_OCPP_MAX_CURRENT
        ): _MAX_CURRENT_SELECTOR,
    }
)


def _ocpp_reconfigure_schema(*, stored_password: bool, port: int) -> probatio.Schema:
    return _OCPP_CONFIRM_SCHEMA.extend(
        {**_removal(stored_password), **_server_fields(port)}
    )


def _server_fields(port: int) -> dict[Any, Any]:
    """Where the central system listens, and its TLS files (wss://)."""
    return {
        probatio.Required(CONF_PORT, default=port): NumberSelector(
            NumberSelectorConfig(min=1, max=65535, mode=NumberSelectorMode.BOX)
        ),
        probatio.Optional(
            CONF_BIND_ADDRESS, default=DEFAULT_BIND_ADDRESS
        ): TextSelector(TextSelectorConfig(autocomplete="off")),
        probatio.Optional(CONF_SSL_CERTIFICATE): TextSelector(),
        probatio.Optional(CONF_SSL_KEY): TextSelector(),
    }


def _server_settings(user_input: Mapping[str, Any]) -> dict[str, Any]:
    return {
        CONF_PORT: int(user_input[CONF_PORT]),
        CONF_BIND_ADDRESS: str(
            user_input.get(CONF_BIND_ADDRESS) or DEFAULT_BIND_ADDRESS
        ).strip(),
        **{
            key: str(user_input[key]).strip()
            for key in (CONF_SSL_CERTIFICATE, CONF_SSL_KEY)
            if user_input.get(key)
        },
    }


def _ocpp_schema(port: int) -> probatio.Schema:
    return probatio.Schema(
        {
            probatio.Required(CONF_CHARGE_POINT_ID): TextSelector(
                TextSelectorConfig(autocomplete="off")
            ),
            **_OCPP_CONFIRM_SCHEMA.schema,
            **_server_fields(port),
        }
    )


def _port_free(host: str, port: int) -> bool:
    """Whether the central system could listen on ``port`` (blocking)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _modbus_data(user_input: Mapping[str, Any]) -> dict[str, Any]:
    return {
        CONF_PROTOCOL: PROTOCOL_MODBUS,
        CONF_HOST: str(user_input[CONF_HOST]).strip(),
        CONF_PORT: int(user_input[CONF_PORT]),
        CONF_UNIT_ID: int(user_input[CONF_UNIT_ID]),
    }


def _credentials(user_input: Mapping[str, Any]) -> dict[str, str]:
    return {
        key: user_input[key]
        for key in (CONF_USERNAME, CONF_PASSWORD)
        if user_input.get(key)
    }


def _address(host: str) -> str:
    """``host`` without its port (``192.168.1.50:80`` -> ``192.168.1.50``)."""
    return urlsplit(f"//{host}").hostname or host


def _number(minimum: float, maximum: float, unit: str) -> NumberSelector:
    return NumberSelector(
        NumberSelectorConfig(
            min=minimum,
            max=maximum,
            step=1,
            unit_of_measurement=unit,
            mode=NumberSelectorMode.BOX,
        )
    )


def _choice(key: str, options: list[str]) -> SelectSelector:
    return SelectSelector(
        SelectSelectorConfig(
            options=options, translation_key=key, mode=SelectSelectorMode.DROPDOWN
        )
    )


def _sensor(*device_classes: str) -> EntitySelector:
    return EntitySelector(
        EntitySelectorConfig(domain="sensor", device_class=list(device_classes))
    )


# Solar inputs, the same for a group and a single charger. Optional: without
# a grid power sensor there is no solar charging.
_SOLAR_FIELDS: dict[Any, Any] = {
    probatio.Optional(CONF_GRID_POWER): _sensor("power"),
    probatio.Optional(CONF_GRID_POWER_SIGN): _choice(
        CONF_GRID_POWER_SIGN, [SIGN_POSITIVE_IMPORT, SIGN_POSITIVE_EXPORT]
    ),
    probatio.Optional(CONF_BATTERY_POWER): _sensor("power"),
    probatio.Optional(CONF_BATTERY_POWER_SIGN): _choice(
        CONF_BATTERY_POWER_SIGN, [SIGN_POSITIVE_CHARGE, SIGN_POSITIVE_DISCHARGE]
    ),
    probatio.Optional(CONF_BATTERY_SOC): _sensor("battery"),
    probatio.Optional(CONF_BATTERY_FIRST_SOC): _number(0, 100, PERCENTAGE),
}
# Electrical facts the solar controller needs to turn watts into amps.
_ELECTRICAL_FIELDS: dict[Any, Any] = {
    probatio.Required(CONF_VOLTAGE, default=DEFAULT_VOLTAGE): _number(100, 480, "V"),
    probatio.Required(CONF_PHASES, default="1"): _choice(CONF_PHASES, ["1", "3"]),
}
# Set at run time by the solar mode select and the delay numbers: an options
# flow keeps them.
# Options kept when a form without them is saved: set by entities, actions or
# the cards form.
_RUNTIME_OPTIONS = (
    CONF_SOLAR_MODE,
    CONF_START_DELAY,
    CONF_STOP_DELAY,
    CONF_ID_TAGS,
    CONF_FREE_CHARGING,
)
_NUMERIC_OPTIONS = (
    CONF_METER_INTERVAL,
    CONF_CIRCUIT_LIMIT,
    CONF_FALLBACK_CURRENT,
    CONF_VOLTAGE,
    CONF_CONTROL_INTERVAL,
    CONF_BATTERY_FIRST_SOC,
    CONF_HOUSE_POWER,
)
_POWER_UNITS = {UnitOfPower.WATT, UnitOfPower.KILO_WATT}
_METER_UNITS = _POWER_UNITS | {UnitOfElectricCurrent.AMPERE}


def _member_options(hass: HomeAssistant) -> list[SelectOptionDict]:
    return [
        SelectOptionDict(value=entry.entry_id, label=entry.title)
        for entry in charger_entries(hass)
    ]


def group_schema(hass: HomeAssistant, *, options: bool) -> probatio.Schema:
    """Build the group form; the options form adds the solar inputs."""
    fields: dict[Any, Any] = (
        {} if options else {probatio.Required(CONF_NAME): TextSelector()}
    )
    fields |= {
        probatio.Required(CONF_MEMBERS): SelectSelector(
            # A check box per charger, however many there are: a group is
            # picked by looking at all of them.
            SelectSelectorConfig(
                options=_member_options(hass),
                multiple=True,
                mode=SelectSelectorMode.LIST,
            )
        ),
        probatio.Required(CONF_CIRCUIT_LIMIT): _number(6, 500, "A"),
        probatio.Required(CONF_POLICY, default=Policy.UNIFORM.value): _choice(
            CONF_POLICY, [policy.value for policy in Policy]
        ),
        probatio.Required(
            CONF_FALLBACK_CURRENT, default=DEFAULT_FALLBACK_CURRENT
        ): _number(J1772_MIN_CURRENT, 80, "A"),
        probatio.Optional(CONF_CIRCUIT_METER): _sensor("power", "current"),
        **_ELECTRICAL_FIELDS,
    }
    if options:
        fields |= {
            probatio.Required(
                CONF_CONTROL_INTERVAL, default=DEFAULT_CONTROL_INTERVAL
            ): _number(5, 300, "s"),
            **_SOLAR_FIELDS,
        }
    return probatio.Schema(fields)


def charger_solar_schema() -> probatio.Schema:
    """Solar inputs of a charger that is not in a group."""
    return probatio.Schema(
        {
            **_SOLAR_FIELDS,
            probatio.Optional(CONF_VOLTAGE): _number(100, 480, "V"),
            probatio.Optional(CONF_PHASES): _choice(CONF_PHASES, ["1", "3"]),
        }
    )


def _clean(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """Drop emptied optional fields; numbers as ints."""
    return {
        key: int(value) if key in _NUMERIC_OPTIONS else value
        for key, value in user_input.items()
        if value not in (None, "")
    }


def _unit_error(
    hass: HomeAssistant, entity_id: str | None, units: AbstractSet[str]
) -> bool:
    """Whether a chosen sensor reports a unit we cannot use.

    A sensor that is unavailable now is accepted: its unit is checked when
    it reports (a value in another unit is then ignored).
    """
    if not entity_id or (state := hass.states.get(entity_id)) is None:
        return False
    unit = state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)
    return unit is not None and unit not in units


def _validate_solar(hass: HomeAssistant, settings: Mapping[str, Any]) -> dict[str, str]:
    if _unit_error(hass, settings.get(CONF_GRID_POWER), _POWER_UNITS) or _unit_error(
        hass, settings.get(CONF_BATTERY_POWER), _POWER_UNITS
    ):
        return {"base": "unsupported_unit"}
    if _unit_error(hass, settings.get(CONF_BATTERY_SOC), {PERCENTAGE}):
        return {"base": "unsupported_unit"}
    return {}


def _validate_group(
    hass: HomeAssistant, settings: Mapping[str, Any], own: ConfigEntry[Any] | None
) -> dict[str, str]:
    """Errors of a group form: members, current and meter units."""
    members = set(settings[CONF_MEMBERS])
    if not members:
        return {"base": "no_members"}
    for other in group_entries(hass):
        if other is not own and members & set(other.options.get(CONF_MEMBERS, ())):
            # Never two controllers on one charger.
            return {"base": "member_in_group"}
    if settings[CONF_FALLBACK_CURRENT] * len(members) > settings[CONF_CIRCUIT_LIMIT]:
        # Without Home Assistant every charger offers its fallback at once.
        return {"base": "fallbacks_above_limit"}
    if _unit_error(hass, settings.get(CONF_CIRCUIT_METER), _METER_UNITS):
        return {"base": "unsupported_unit"}
    return _validate_solar(hass, settings)


def _price_field(options: Mapping[str, Any]) -> dict[Any, Any]:
    """Ask for the price per kWh and the car's battery (every charger, grouped too)."""
    return {
        probatio.Optional(
            CONF_PRICE_SENSOR,
            description={"suggested_value": options.get(CONF_PRICE_SENSOR)},
        ): EntitySelector(EntitySelectorConfig(domain="sensor")),
        probatio.Optional(
            CONF_CAR_SOC,
            description={"suggested_value": options.get(CONF_CAR_SOC)},
        ): EntitySelector(EntitySelectorConfig(domain="sensor")),
        probatio.Optional(
            CONF_CAR_BATTERY,
            description={"suggested_value": options.get(CONF_CAR_BATTERY)},
        ): _number(1, 250, "kWh"),
        probatio.Optional(
            CONF_OFF_PEAK_START,
            description={"suggested_value": options.get(CONF_OFF_PEAK_START)},
        ): TimeSelector(),
        probatio.Optional(
            CONF_OFF_PEAK_END,
            description={"suggested_value": options.get(CONF_OFF_PEAK_END)},
        ): TimeSelector(),
        probatio.Optional(
            CONF_SOLAR_FORECAST,
            description={"suggested_value": options.get(CONF_SOLAR_FORECAST)},
        ): EntitySelector(EntitySelectorConfig(domain="sensor", multiple=True)),
        probatio.Optional(
            CONF_HOUSE_POWER,
            description={"suggested_value": options.get(CONF_HOUSE_POWER)},
        ): _number(0, 50_000, UnitOfPower.WATT),
    }


def _validate_price(hass: HomeAssistant, settings: Mapping[str, Any]) -> dict[str, str]:
    """Check the price sensor, and that a car charge sensor comes with its battery."""
    if bool(settings.get(CONF_CAR_SOC)) != bool(settings.get(CONF_CAR_BATTERY)):
        # A state of charge means nothing in kWh without the battery's size.
        return {"base": "car_soc_needs_battery"}
    if _unit_error(hass, settings.get(CONF_CAR_SOC), {PERCENTAGE}):
        return {CONF_CAR_SOC: "car_soc_unit"}
    start, end = settings.get(CONF_OFF_PEAK_START), settings.get(CONF_OFF_PEAK_END)
    if bool(start) != bool(end) or (start and start == end):
        # A window needs both ends, and some time between them.
        return {"base": "off_peak_window"}
    if _solar_forecast_error(hass, settings.get(CONF_SOLAR_FORECAST) or ()):
        return {CONF_SOLAR_FORECAST: "solar_forecast_invalid"}
    entity_id = settings.get(CONF_PRICE_SENSOR)
    if not entity_id or (state := hass.states.get(entity_id)) is None:
        return {}
    if price_unit(state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)) is None:
        return {CONF_PRICE_SENSOR: "price_unit"}
    if state.state not in (STATE_UNKNOWN, STATE_UNAVAILABLE):
        try:
            float(state.state)
        except ValueError:
            return {CONF_PRICE_SENSOR: "price_not_numeric"}
    return {}


def _solar_forecast_error(hass: HomeAssistant, entity_ids: Iterable[str]) -> bool:
    """Whether a chosen sensor that reports now carries no solar forecast.

    One that is unavailable now is accepted: the plan goes without its sun
    until it reports.
    """
    for entity_id in entity_ids:
        state = hass.states.get(entity_id)
        if state is None or state.state in (STATE_UNKNOWN, STATE_UNAVAILABLE):
            continue
        try:
            parse_solar_attributes(state.attributes, tz=dt_util.get_default_time_zone())
        except SolarDataError:
            return True
    return False


def _kept(options: Mapping[str, Any]) -> dict[str, Any]:
    return {key: options[key] for key in _RUNTIME_OPTIONS if key in options}


# The cards form: the new card's fields, the cards to remove, free charging.
CONF_NEW_ID_TAG = "new_id_tag"
CONF_REMOVE_ID_TAGS = "remove_id_tags"
CONF_EXPIRY = "expiry"
CONF_PARENT_ID_TAG = "parent_id_tag"
_ID_TAG_ERROR_FIELDS = {
    "invalid_id_tag": CONF_NEW_ID_TAG,
    "id_tag_exists": CONF_NEW_ID_TAG,
    "expiry_in_past": CONF_EXPIRY,
}


def _cards_text(authorization: Authorization) -> str:
    return ", ".join(f"{tag.name} ({tag.id_tag})" for tag in authorization.tags)


def _id_tags_schema(authorization: Authorization) -> probatio.Schema:
    fields: dict[Any, Any] = {
        probatio.Required(CONF_FREE_CHARGING): BooleanSelector(),
        probatio.Optional(CONF_NEW_ID_TAG): TextSelector(
            TextSelectorConfig(autocomplete="off")
        ),
        probatio.Optional(CONF_NAME): TextSelector(),
        probatio.Optional(CONF_EXPIRY): DateTimeSelector(),
        probatio.Optional(CONF_PARENT_ID_TAG): TextSelector(
            TextSelectorConfig(autocomplete="off")
        ),
    }
    if authorization.tags:
        fields[probatio.Optional(CONF_REMOVE_ID_TAGS)] = SelectSelector(
            SelectSelectorConfig(
                options=[
                    SelectOptionDict(
                        value=tag.id_tag, label=f"{tag.name} ({tag.id_tag})"
                    )
                    for tag in authorization.tags
                ],
                multiple=True,
                mode=SelectSelectorMode.LIST,
            )
        )
    return probatio.Schema(fields)


class EvseLocalConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add a charger: typed in, or found on the network."""

    VERSION = 1
    # 1.2: OCPP cards are answered from the owner's list (see id_tags.py).
    MINOR_VERSION = 2

    def __init__(self) -> None:
        """Nothing discovered yet."""
        self._host: str | None = None
        self._data: dict[str, Any] = {}
        self._info: DeviceInfo | None = None
        self._needs_credentials = False
        self._ocpp_title = ""

    async def _probe(
        self, data: Mapping[str, Any]
    ) -> tuple[DeviceInfo | None, dict[str, str]]:
        """Connect like the integration will; return its identity or errors."""
        try:
            charger = await async_connect(self.hass, data)
        except EvseAuthenticationError:
            if data.get(CONF_USERNAME) or data.get(CONF_PASSWORD):
                return None, {"base": "invalid_auth"}
            return None, {"base": "auth_required"}
        except EvseConnectionError:
            return None, {"base": "cannot_connect"}
        except EvseError:
            return None, {"base": "not_a_charger"}
        except Exception:  # noqa: BLE001 - never let a probe crash the flow
            LOGGER.exception("Unexpected error while probing %s", data[CONF_HOST])
            return None, {"base": "unknown"}
        await charger.close()
        return charger.info, {}

    def _title(self, info: DeviceInfo, host: str) -> str:
        """Name a charger after its serial, like its device label shows.

        Without any identity (old OpenEVSE WiFi modules) its address tells
        chargers apart (its factory host name ``openevse`` would not); the
        port is added only where another charger has the same address.
        """
        if info.serial:
            return f"{info.model} {info.serial[-4:]}"
        title = f"{info.model} {_address(host)}"
        if any(entry.title == title for entry in self._async_current_entries()):
            title = f"{info.model} {host}"
        return title

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask how the charger is reached: its web API, or Modbus TCP."""
        return self.async_show_menu(
            step_id="user", menu_options=["http", "modbus", "ocpp", "group"]
        )

    async def async_step_group(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Set up a charging group: chargers that share one circuit."""
        if not charger_entries(self.hass):
            return self.async_abort(reason="no_chargers")
        errors: dict[str, str] = {}
        if user_input is not None:
            settings = _clean(user_input)
            errors = _validate_group(self.hass, settings, None)
            if not errors:
                # A virtual device: its identity is a uuid made here, once.
                group_id = uuid4().hex
                await self.async_set_unique_id(group_id)
                name = settings.pop(CONF_NAME)
                return self.async_create_entry(
                    title=name,
                    data={CONF_KIND: KIND_GROUP, CONF_GROUP_ID: group_id},
                    options=settings,
                )
        return self.async_show_form(
            step_id="group",
            data_schema=self.add_suggested_values_to_schema(
                group_schema(self.hass, options=False), user_input
            ),
            errors=errors,
        )

    async def async_step_http(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Type in the address of an OpenEVSE or GoPlug charger."""
        errors: dict[str, str] = {}
        if user_input is not None:
            host = user_input[CONF_HOST].strip()
            data = {CONF_HOST: host, **_credentials(user_input)}
            info, errors = await self._probe(data)
            if info is not None:
                await self._async_identified(info, host, raise_on_progress=False)
                return self.async_create_entry(title=self._title(info, host), data=data)
        return self.async_show_form(
            step_id="http",
            data_schema=self.add_suggested_values_to_schema(
                _host_schema(None), user_input
            ),
            errors=errors,
        )

    async def async_step_modbus(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Type in the address of a go-e Charger with Modbus TCP enabled."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data = _modbus_data(user_input)
            info, errors = await self._probe(data)
            if info is not None:
                await self._async_identified(
                    info, data[CONF_HOST], raise_on_progress=False
                )
                return self.async_create_entry(
                    title=self._title(info, data[CONF_HOST]), data=data
                )
        return self.async_show_form(
            step_id="modbus",
            data_schema=self.add_suggested_values_to_schema(_MODBUS_SCHEMA, user_input),
            errors=errors,
        )

    async def async_step_ocpp(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Let an OCPP charger (Blink MQ 200) in: it will connect to us."""
        errors: dict[str, str] = {}
        if user_input is not None:
            charge_point_id = str(user_input[CONF_CHARGE_POINT_ID]).strip().strip("/")
            data = {
                CONF_PROTOCOL: PROTOCOL_OCPP,
                CONF_CHARGE_POINT_ID: charge_point_id,
                CONF_MAX_CURRENT: int(user_input[CONF_MAX_CURRENT]),
                **_server_settings(user_input),
                **_credentials(user_input),
            }
            if not valid_charge_point_id(charge_point_id):
                # The central system would refuse it: the charger could never connect.
                errors[CONF_CHARGE_POINT_ID] = "invalid_charge_point_id"
            else:
                await self.async_set_unique_id(charge_point_id)
                self._abort_if_unique_id_configured()
                errors = await self._async_check_server(data)
            if not errors:
                return self.async_create_entry(title=charge_point_id, data=data)
        ports = running_ports(self.hass)
        port = ports[0] if ports else DEFAULT_OCPP_PORT
        return self.async_show_form(
            step_id="ocpp",
            data_schema=self.add_suggested_values_to_schema(
                _ocpp_schema(port), user_input
            ),
            description_placeholders={"url": self._central_system_url(port)},
            errors=errors,
        )

    def _central_system_url(self, port: int) -> str:
        """Return what to type into the charger's Central System URL field."""
        try:
            base = get_url(self.hass, allow_external=False, allow_cloud=False)
        except NoURLAvailableError:
            host = "homeassistant.local"
        else:
            host = URL(base).host or "homeassistant.local"
        return f"ws://{host}:{port}/ocpp"

    async def _async_check_server(
        self, data: Mapping[str, Any], own: ConfigEntry[Any] | None = None
    ) -> dict[str, str]:
        """Check what the central system needs: its port and TLS files.

        Chargers on one port share its server, so its TLS files too: a
        second charger asking for other ones would be served without them.
        ``own``: the entry being reconfigured, whose server may be this one.
        """
        if bool(data.get(CONF_SSL_CERTIFICATE)) != bool(data.get(CONF_SSL_KEY)):
            return {"base": "ssl_incomplete"}
        own_id = None if own is None else own.entry_id
        held = tls_in_use(self.hass, data, other_than=own_id)
        if held is not None and held[0] != tls_files(data):
            return {"base": "tls_mismatch"}
        server = running_server(self.hass, data)
        if held is not None and server is not None:
            # Served already: the running server's port and TLS are in use.
            return {}
        try:
            await async_ssl_context(self.hass, data)
        except OSError, ssl.SSLError:
            return {"base": "invalid_certificate"}
        if server is not None:
            # Its own server, alone on the port: the port is ours.
            return {}
        bind, port = server_address(data)
        if not await self.hass.async_add_executor_job(_port_free, bind, port):
            return {CONF_PORT: "port_in_use"}
        return {}

    async def async_step_integration_discovery(
        self, discovery_info: DiscoveryInfoType
    ) -> ConfigFlowResult:
        """Ask before letting in an OCPP charger that no entry knows."""
        charge_point_id = str(discovery_info[CONF_CHARGE_POINT_ID])
        await self.async_set_unique_id(charge_point_id)
        self._abort_if_unique_id_configured()
        self._data = {
            CONF_PROTOCOL: PROTOCOL_OCPP,
            CONF_CHARGE_POINT_ID: charge_point_id,
            **{
                key: discovery_info[key]
                for key in (
                    CONF_BIND_ADDRESS,
                    CONF_PORT,
                    CONF_SSL_CERTIFICATE,
                    CONF_SSL_KEY,
                )
                if key in discovery_info
            },
        }
        model = " ".join(
            part
            for part in (discovery_info.get("vendor"), discovery_info.get("model"))
            if part
        )
        self._ocpp_title = f"{model or 'OCPP charger'} {charge_point_id}"
        self.context["title_placeholders"] = {"name": self._ocpp_title}
        return await self.async_step_ocpp_confirm()

    async def async_step_ocpp_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Accept the charger, with the password it was given (Basic Auth)."""
        errors: dict[str, str] = {}
        charge_point_id = self._data[CONF_CHARGE_POINT_ID]
        if user_input is not None:
            password = user_input.get(CONF_PASSWORD) or None
            server = running_server(self.hass, self._data)
            presented = (
                None
                if server is None
                else server.presented_password_matches(charge_point_id, password)
            )
            if presented is False:
                errors[CONF_PASSWORD] = "password_mismatch"
            elif presented is None and password is not None and server is not None:
                errors[CONF_PASSWORD] = "no_password_presented"
            else:
                return self.async_create_entry(
                    title=self._ocpp_title,
                    data={
                        **self._data,
                        CONF_MAX_CURRENT: int(user_input[CONF_MAX_CURRENT]),
                        **_credentials(user_input),
                    },
                )
        return self.async_show_form(
            step_id="ocpp_confirm",
            data_schema=self.add_suggested_values_to_schema(
                _OCPP_CONFIRM_SCHEMA, user_input
            ),
            description_placeholders={"charge_point_id": charge_point_id},
            errors=errors,
        )

    async def async_step_zeroconf(
        self, discovery_info: ZeroconfServiceInfo
    ) -> ConfigFlowResult:
        """Handle a charger that announced itself.

        OpenEVSE (``_openevse._tcp``) and GoPlug (``_http._tcp``, goplug*) are
        reached on the announced web port; a go-e Charger announces its own
        service types, but is reached over Modbus TCP on port 502.
        """
        host = discovery_info.host
        if discovery_info.type.startswith(GOE_SERVICE_PREFIX):
            self._data = {
                CONF_PROTOCOL: PROTOCOL_MODBUS,
                CONF_HOST: host,
                CONF_PORT: DEFAULT_MODBUS_PORT,
                CONF_UNIT_ID: DEFAULT_UNIT_ID,
            }
        else:
            if discovery_info.port not in (None, 80):
                host = f"{host}:{discovery_info.port}"
            self._data = {CONF_HOST: host}
        self._host = host
        info, errors = await self._probe(self._data)
        if errors.get("base") == "auth_required":
            self._needs_credentials = True
        elif info is None:
            if self._data.get(CONF_PROTOCOL) == PROTOCOL_MODBUS:
                # Found on the network, but Modbus TCP is off in the go-e app.
                return self.async_abort(reason="modbus_unreachable")
            return self.async_abort(reason=errors["base"])
        else:
            await self._async_identified(info, host)
        self.context["title_placeholders"] = {
            "name": discovery_info.name.split(".", 1)[0]
        }
        return await self.async_step_zeroconf_confirm()

    async def _async_identified(
        self, info: DeviceInfo, host: str, *, raise_on_progress: bool = True
    ) -> None:
        """Abort if this charger is set up already (then update its address)."""
        self._info = info
        if info.serial is None:
            # Old firmware without any identity: one entry per address.
            self._async_abort_entries_match({CONF_HOST: host})
            return
        await self.async_set_unique_id(info.serial, raise_on_progress=raise_on_progress)
        self._abort_if_unique_id_configured(updates={CONF_HOST: host})

    async def async_step_zeroconf_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Confirm adding a discovered charger (with credentials if needed)."""
        host = self._host or ""
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {**self._data, **_credentials(user_input)}
            info = self._info
            if self._needs_credentials:
                info, errors = await self._probe(data)
                if info is not None:
                    await self._async_identified(info, host)
            if info is not None:
                return self.async_create_entry(title=self._title(info, host), data=data)
        return self.async_show_form(
            step_id="zeroconf_confirm",
            data_schema=probatio.Schema(
                _CREDENTIALS if self._needs_credentials else {}
            ),
            description_placeholders={"host": host},
            errors=errors,
        )

    async def async_step_reauth(
        self, entry_data: Mapping[str, Any]
    ) -> ConfigFlowResult:
        """Start re-authentication: the charger wants other credentials."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the new credentials."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            credentials = _credentials(user_input)
            data = {CONF_HOST: entry.data[CONF_HOST], **credentials}
            info, errors = await self._probe(data)
            if info is not None:
                self._abort_if_other_device(entry, info)
                return self.async_update_reload_and_abort(entry, data=data)
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=probatio.Schema(_CREDENTIALS),
            description_placeholders={"host": entry.data[CONF_HOST]},
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change address or credentials of the same charger."""
        entry = self._get_reconfigure_entry()
        if entry.data.get(CONF_PROTOCOL) == PROTOCOL_OCPP:
            return await self.async_step_reconfigure_ocpp()
        modbus = entry.data.get(CONF_PROTOCOL) == PROTOCOL_MODBUS
        stored = entry.data.get(CONF_PASSWORD)
        errors: dict[str, str] = {}
        if user_input is not None:
            if modbus:
                data = _modbus_data(user_input)
            else:
                host = user_input[CONF_HOST].strip()
                password, errors = _new_password(user_input, stored)
                # Without its password a user name means nothing: both go.
                username = user_input.get(CONF_USERNAME) if password else None
                data = {
                    CONF_HOST: host,
                    **_credentials({CONF_USERNAME: username, CONF_PASSWORD: password}),
                }
            if not errors:
                info, errors = await self._probe(data)
                if info is not None:
                    self._abort_if_other_device(entry, info)
                    return self.async_update_reload_and_abort(entry, data=data)
        schema = (
            _MODBUS_SCHEMA
            if modbus
            else _host_schema(entry.data[CONF_HOST], stored_password=bool(stored))
        )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                schema, _without_secrets(user_input or entry.data)
            ),
            errors=errors,
        )

    async def async_step_reconfigure_ocpp(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change an OCPP charger's password, maximum current or server."""
        entry = self._get_reconfigure_entry()
        stored = entry.data.get(CONF_PASSWORD)
        errors: dict[str, str] = {}
        if user_input is not None:
            password, errors = _new_password(user_input, stored)
            data = {
                CONF_PROTOCOL: PROTOCOL_OCPP,
                CONF_CHARGE_POINT_ID: entry.data[CONF_CHARGE_POINT_ID],
                CONF_MAX_CURRENT: int(user_input[CONF_MAX_CURRENT]),
                **_server_settings(user_input),
                **_credentials({CONF_PASSWORD: password}),
            }
            if not errors:
                errors = await self._async_check_server(data, own=entry)
            if not errors:
                return self.async_update_reload_and_abort(entry, data=data)
        return self.async_show_form(
            step_id="reconfigure_ocpp",
            data_schema=self.add_suggested_values_to_schema(
                _ocpp_reconfigure_schema(
                    stored_password=bool(stored), port=server_address(entry.data)[1]
                ),
                _without_secrets(user_input or entry.data),
            ),
            description_placeholders={
                "charge_point_id": entry.data[CONF_CHARGE_POINT_ID]
            },
            errors=errors,
        )

    def _abort_if_other_device(self, entry: EvseConfigEntry, info: DeviceInfo) -> None:
        """Reauth and reconfigure must stay with the same charger."""
        if entry.unique_id is not None and entry.unique_id != info.serial:
            raise AbortFlow("wrong_device")

    @staticmethod
    @callback
    def async_get_options_flow(
        config_entry: ConfigEntry[Any],
    ) -> EvseOptionsFlow | GroupOptionsFlow:
        """Edit a charger's poll interval and solar inputs, or a group's settings."""
        if is_group(config_entry):
            return GroupOptionsFlow()
        return EvseOptionsFlow()


class EvseOptionsFlow(OptionsFlowWithReload):
    """Options that change how the integration talks to the charger."""

    # An OCPP charger's options start with a menu: its settings, or its cards.
    _settings_chosen = False

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show and save the options."""
        if (
            user_input is None
            and not self._settings_chosen
            and self.config_entry.data.get(CONF_PROTOCOL) == PROTOCOL_OCPP
        ):
            return await self.async_step_ocpp_menu()
        options = self.config_entry.options
        errors: dict[str, str] = {}
        if user_input is not None:
            settings = _clean(user_input)
            errors = _validate_solar(self.hass, settings) or _validate_price(
                self.hass, settings
            )
            if not errors:
                errors = await self._async_apply_meter_interval(settings)
            if not errors:
                return self._async_save(settings | _kept(options))
        group = group_of(self.hass, self.config_entry.entry_id)
        if group is not None:
            # The group controls this charger (and its solar charging): never
            # two controllers on one charger.
            return self.async_show_form(
                step_id="grouped",
                data_schema=self._charger_schema(),
                description_placeholders={"group": group.title},
                errors=errors,
            )
        schema = self._charger_schema().extend(charger_solar_schema().schema)
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                schema, user_input or options
            ),
            errors=errors,
        )

    async def async_step_grouped(self, user_input: dict[str, Any]) -> ConfigFlowResult:
        """Save a group member's options; its solar inputs stay as they were."""
        # An emptied price field is absent: the old one must not stay.
        options = dict(self.config_entry.options)
        for key in (
            CONF_PRICE_SENSOR,
            CONF_CAR_SOC,
            CONF_CAR_BATTERY,
            CONF_OFF_PEAK_START,
            CONF_OFF_PEAK_END,
            CONF_SOLAR_FORECAST,
            CONF_HOUSE_POWER,
        ):
            options.pop(key, None)
        settings = {**options, **_clean(user_input)}
        errors = _validate_price(self.hass, settings)
        if not errors:
            errors = await self._async_apply_meter_interval(settings)
        if not errors:
            return self._async_save(settings)
        group = group_of(self.hass, self.config_entry.entry_id)
        return self.async_show_form(
            step_id="grouped",
            data_schema=self.add_suggested_values_to_schema(
                self._charger_schema(), user_input
            ),
            description_placeholders={"group": group.title if group else ""},
            errors=errors,
        )

    def _charger_schema(self) -> probatio.Schema:
        """How the integration talks to this kind of charger."""
        options = self.config_entry.options
        if self.config_entry.data.get(CONF_PROTOCOL) == PROTOCOL_OCPP:
            # It pushes and keeps no current in EEPROM: no poll interval or
            # persistence, but how often it sends its readings.
            return probatio.Schema(
                {
                    probatio.Required(
                        CONF_METER_INTERVAL,
                        default=options.get(CONF_METER_INTERVAL, OCPP_METER_INTERVAL),
                    ): _number(*OCPP_METER_INTERVAL_RANGE, "s"),
                    **_price_field(options),
                }
            )
        return probatio.Schema(
            {
                probatio.Required(
                    CONF_SCAN_INTERVAL,
                    default=options.get(
                        CONF_SCAN_INTERVAL, DEFAULT_SCAN_INTERVAL.total_seconds()
                    ),
                ): _number(MIN_SCAN_INTERVAL_SECONDS, MAX_SCAN_INTERVAL_SECONDS, "s"),
                probatio.Required(
                    CONF_PERSIST_MAX_CURRENT,
                    default=options.get(CONF_PERSIST_MAX_CURRENT, False),
                ): BooleanSelector(),
                **_price_field(options),
            }
        )

    async def _async_apply_meter_interval(
        self, settings: Mapping[str, Any]
    ) -> dict[str, str]:
        """Give a connected OCPP charger a changed meter interval now.

        A charger that is not connected gets it when it connects.
        """
        entry = self.config_entry
        seconds = settings.get(CONF_METER_INTERVAL)
        if (
            seconds is None
            or seconds == entry.options.get(CONF_METER_INTERVAL, OCPP_METER_INTERVAL)
            or entry.state is not ConfigEntryState.LOADED
        ):
            return {}
        # The field exists for OCPP chargers only.
        charger = cast("OcppCharger", entry.runtime_data.charger)
        try:
            await charger.set_meter_interval(seconds)
        except EvseWriteNotAppliedError:
            return {CONF_METER_INTERVAL: "meter_interval_not_applied"}
        except EvseError:
            return {CONF_METER_INTERVAL: "meter_interval_rejected"}
        return {}

    def _async_save(self, options: dict[str, Any]) -> ConfigFlowResult:
        old = self.config_entry.options
        changed = {key for key in {*old, *options} if old.get(key) != options.get(key)}
        if changed <= {CONF_METER_INTERVAL}:
            # Applied already, or at the next connection: a reload would only
            # disconnect the charger.
            self.automatic_reload = False
        return self.async_create_entry(data=options)

    async def async_step_ocpp_menu(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Offer an OCPP charger's settings, or its cards."""
        return self.async_show_menu(
            step_id="ocpp_menu", menu_options=["settings", "id_tags"]
        )

    async def async_step_settings(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show the charger's settings (an OCPP charger's menu leads here)."""
        self._settings_chosen = True
        return await self.async_step_init()

    async def async_step_id_tags(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Edit the cards (RFID id tags) that may charge: add, remove, free charging.

        Saved without a reload: the station answers from the new list at
        once and the charger gets its copy now (or when it connects).
        """
        entry = self.config_entry
        authorization = authorization_from_options(entry.options)
        station = loaded_station(entry)
        errors: dict[str, str] = {}
        placeholders = {"cards": _cards_text(authorization) or "-"}
        if user_input is not None:
            try:
                authorization = without_id_tags(
                    authorization, list(user_input.get(CONF_REMOVE_ID_TAGS, []))
                )
                if new := str(user_input.get(CONF_NEW_ID_TAG) or "").strip():
                    expiry = user_input.get(CONF_EXPIRY)
                    authorization = new_id_tag(
                        authorization,
                        id_tag=new,
                        name=user_input.get(CONF_NAME),
                        expiry=dt_util.parse_datetime(expiry) if expiry else None,
                        parent=user_input.get(CONF_PARENT_ID_TAG),
                        capacity=station.local_list_capacity if station else None,
                    )
            except IdTagError as err:
                errors[_ID_TAG_ERROR_FIELDS.get(err.key, "base")] = err.key
                placeholders |= err.placeholders
            else:
                options = options_with(
                    entry.options,
                    replace(
                        authorization,
                        free_charging=bool(user_input[CONF_FREE_CHARGING]),
                    ),
                )
                await async_apply(self.hass, entry, options)
                self.automatic_reload = False
                return self.async_create_entry(data=options)
        refused = station.snapshot.refused_id_tag if station else None
        return self.async_show_form(
            step_id="id_tags",
            data_schema=self.add_suggested_values_to_schema(
                _id_tags_schema(authorization),
                user_input
                or {
                    CONF_FREE_CHARGING: authorization.free_charging,
                    CONF_NEW_ID_TAG: refused
                    if refused and authorization.find(refused) is None
                    else None,
                },
            ),
            description_placeholders=placeholders,
            errors=errors,
        )


class GroupOptionsFlow(OptionsFlowWithReload):
    """A charging group's settings and its solar inputs."""

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Group options have their own form (the charger's is ``init``)."""
        return await self.async_step_group()

    async def async_step_group(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show and save the group's settings."""
        entry = self.config_entry
        errors: dict[str, str] = {}
        if user_input is not None:
            settings = _clean(user_input)
            errors = _validate_group(self.hass, settings, entry)
            if not errors:
                return self.async_create_entry(data=settings | _kept(entry.options))
        return self.async_show_form(
            step_id="group",
            data_schema=self.add_suggested_values_to_schema(
                group_schema(self.hass, options=True), user_input or entry.options
            ),
            errors=errors,
        )
