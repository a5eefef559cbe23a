"""Config flow: manual, zeroconf, reauth, reconfigure and options."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Mapping
from typing import Any

import probatio
from homeassistant.config_entries import (
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.const import (
    CONF_HOST,
    CONF_PASSWORD,
    CONF_PORT,
    CONF_SCAN_INTERVAL,
    CONF_USERNAME,
)
from homeassistant.core import callback
from homeassistant.data_entry_flow import AbortFlow
from homeassistant.helpers.network import NoURLAvailableError, get_url
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo
from homeassistant.helpers.typing import DiscoveryInfoType
from yarl import URL

from .const import (
    CONF_BIND_ADDRESS,
    CONF_CHARGE_POINT_ID,
    CONF_MAX_CURRENT,
    CONF_PERSIST_MAX_CURRENT,
    CONF_PROTOCOL,
    CONF_SSL_CERTIFICATE,
    CONF_SSL_KEY,
    CONF_UNIT_ID,
    DEFAULT_BIND_ADDRESS,
    DEFAULT_MODBUS_PORT,
    DEFAULT_OCPP_MAX_CURRENT,
    DEFAULT_OCPP_PORT,
    DEFAULT_SCAN_INTERVAL,
    DEFAULT_UNIT_ID,
    DOMAIN,
    GOE_SERVICE_PREFIX,
    LOGGER,
    MAX_SCAN_INTERVAL_SECONDS,
    MIN_SCAN_INTERVAL_SECONDS,
    OCPP_MAX_CURRENT_RANGE,
    PROTOCOL_MODBUS,
    PROTOCOL_OCPP,
)
from .coordinator import EvseConfigEntry
from .helpers import async_connect
from .ocpp_server import (
    async_ssl_context,
    running_ports,
    running_server,
    server_address,
)
from .protocols.errors import (
    EvseAuthenticationError,
    EvseConnectionError,
    EvseError,
)
from .protocols.models import DeviceInfo

_CREDENTIALS = {
    probatio.Optional(CONF_USERNAME): TextSelector(
        TextSelectorConfig(autocomplete="username")
    ),
    probatio.Optional(CONF_PASSWORD): TextSelector(
        TextSelectorConfig(type=TextSelectorType.PASSWORD)
    ),
}


def _host_schema(host: str | None) -> probatio.Schema:
    return probatio.Schema(
        {
            probatio.Required(CONF_HOST, default=host or ""): TextSelector(
                TextSelectorConfig(autocomplete="off")
            ),
            **_CREDENTIALS,
        }
    )


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


def _ocpp_schema(port: int) -> probatio.Schema:
    return probatio.Schema(
        {
            probatio.Required(CONF_CHARGE_POINT_ID): TextSelector(
                TextSelectorConfig(autocomplete="off")
            ),
            **_OCPP_CONFIRM_SCHEMA.schema,
            probatio.Required(CONF_PORT, default=port): NumberSelector(
                NumberSelectorConfig(min=1, max=65535, mode=NumberSelectorMode.BOX)
            ),
            probatio.Optional(CONF_SSL_CERTIFICATE): TextSelector(),
            probatio.Optional(CONF_SSL_KEY): TextSelector(),
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


def _title(info: DeviceInfo, host: str) -> str:
    if info.serial:
        return f"{info.model} {info.serial[-4:]}"
    return f"{info.model} ({info.hostname or host})"


class EvseLocalConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add a charger: typed in, or found on the network."""

    VERSION = 1

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
            return None, {"base": "invalid_auth"}
        except EvseConnectionError:
            return None, {"base": "cannot_connect"}
        except EvseError:
            return None, {"base": "not_a_charger"}
        except Exception:  # noqa: BLE001 - never let a probe crash the flow
            LOGGER.exception("Unexpected error while probing %s", data[CONF_HOST])
            return None, {"base": "unknown"}
        await charger.close()
        return charger.info, {}

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask how the charger is reached: its web API, or Modbus TCP."""
        return self.async_show_menu(
            step_id="user", menu_options=["http", "modbus", "ocpp"]
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
                return self.async_create_entry(title=_title(info, host), data=data)
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
                    title=_title(info, data[CONF_HOST]), data=data
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
                CONF_PORT: int(user_input[CONF_PORT]),
                CONF_BIND_ADDRESS: DEFAULT_BIND_ADDRESS,
                **_credentials(user_input),
                **{
                    key: str(user_input[key]).strip()
                    for key in (CONF_SSL_CERTIFICATE, CONF_SSL_KEY)
                    if user_input.get(key)
                },
            }
            if not charge_point_id or "/" in charge_point_id:
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

    async def _async_check_server(self, data: Mapping[str, Any]) -> dict[str, str]:
        """Check what the central system needs: its port and TLS files."""
        if bool(data.get(CONF_SSL_CERTIFICATE)) != bool(data.get(CONF_SSL_KEY)):
            return {"base": "ssl_incomplete"}
        if running_server(self.hass, data) is not None:
            # Served already: the running server's port and TLS are in use.
            return {}
        try:
            await async_ssl_context(self.hass, data)
        except OSError, ssl.SSLError:
            return {"base": "invalid_certificate"}
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
        if errors.get("base") == "invalid_auth":
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
                return self.async_create_entry(title=_title(info, host), data=data)
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
        errors: dict[str, str] = {}
        if user_input is not None:
            if modbus:
                data = _modbus_data(user_input)
            else:
                host = user_input[CONF_HOST].strip()
                data = {CONF_HOST: host, **_credentials(user_input)}
            info, errors = await self._probe(data)
            if info is not None:
                self._abort_if_other_device(entry, info)
                return self.async_update_reload_and_abort(entry, data=data)
        schema = _MODBUS_SCHEMA if modbus else _host_schema(entry.data[CONF_HOST])
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                schema, user_input or entry.data
            ),
            errors=errors,
        )

    async def async_step_reconfigure_ocpp(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change an OCPP charger's password or maximum current."""
        entry = self._get_reconfigure_entry()
        if user_input is not None:
            data = {
                key: value
                for key, value in entry.data.items()
                if key not in (CONF_PASSWORD, CONF_MAX_CURRENT)
            }
            return self.async_update_reload_and_abort(
                entry,
                data={
                    **data,
                    CONF_MAX_CURRENT: int(user_input[CONF_MAX_CURRENT]),
                    **_credentials(user_input),
                },
            )
        return self.async_show_form(
            step_id="reconfigure_ocpp",
            data_schema=self.add_suggested_values_to_schema(
                _OCPP_CONFIRM_SCHEMA, entry.data
            ),
            description_placeholders={
                "charge_point_id": entry.data[CONF_CHARGE_POINT_ID]
            },
        )

    def _abort_if_other_device(self, entry: EvseConfigEntry, info: DeviceInfo) -> None:
        """Reauth and reconfigure must stay with the same charger."""
        if entry.unique_id is not None and entry.unique_id != info.serial:
            raise AbortFlow("wrong_device")

    @classmethod
    @callback
    def async_supports_options_flow(cls, config_entry: EvseConfigEntry) -> bool:
        """OCPP chargers push; polling and EEPROM options do not apply."""
        return config_entry.data.get(CONF_PROTOCOL) != PROTOCOL_OCPP

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: EvseConfigEntry) -> EvseOptionsFlow:
        """Poll interval and current persistence."""
        return EvseOptionsFlow()


class EvseOptionsFlow(OptionsFlowWithReload):
    """Options that change how the integration talks to the charger."""

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show and save the options."""
        if user_input is not None:
            return self.async_create_entry(data=user_input)
        options = self.config_entry.options
        schema = probatio.Schema(
            {
                probatio.Required(
                    CONF_SCAN_INTERVAL,
                    default=options.get(
                        CONF_SCAN_INTERVAL, DEFAULT_SCAN_INTERVAL.total_seconds()
                    ),
                ): NumberSelector(
                    NumberSelectorConfig(
                        min=MIN_SCAN_INTERVAL_SECONDS,
                        max=MAX_SCAN_INTERVAL_SECONDS,
                        step=1,
                        unit_of_measurement="s",
                        mode=NumberSelectorMode.BOX,
                    )
                ),
                probatio.Required(
                    CONF_PERSIST_MAX_CURRENT,
                    default=options.get(CONF_PERSIST_MAX_CURRENT, False),
                ): BooleanSelector(),
            }
        )
        return self.async_show_form(step_id="init", data_schema=schema)
