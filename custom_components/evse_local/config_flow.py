"""Config flow: manual, zeroconf, reauth, reconfigure and options."""

from __future__ import annotations

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

from .const import (
    CONF_PERSIST_MAX_CURRENT,
    CONF_PROTOCOL,
    CONF_UNIT_ID,
    DEFAULT_MODBUS_PORT,
    DEFAULT_SCAN_INTERVAL,
    DEFAULT_UNIT_ID,
    DOMAIN,
    GOE_SERVICE_PREFIX,
    LOGGER,
    MAX_SCAN_INTERVAL_SECONDS,
    MIN_SCAN_INTERVAL_SECONDS,
    PROTOCOL_MODBUS,
)
from .coordinator import EvseConfigEntry
from .helpers import async_connect
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
        return self.async_show_menu(step_id="user", menu_options=["http", "modbus"])

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

    def _abort_if_other_device(self, entry: EvseConfigEntry, info: DeviceInfo) -> None:
        """Reauth and reconfigure must stay with the same charger."""
        if entry.unique_id is not None and entry.unique_id != info.serial:
            raise AbortFlow("wrong_device")

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
