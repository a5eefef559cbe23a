"""What hassfest and the HACS action check, as plain tests.

hassfest lives in Home Assistant's repository (``script/hassfest``), not in
the ``homeassistant`` package; these are our own equivalents of its manifest,
translations, icons, services and quality scale checks, and of the HACS
action's repository checks. Home Assistant's own code is used wherever it is
importable (manifest typing, version parsing, YAML loading, the services.yaml
schema, config validators, the brands integration's image names).
"""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import importlib.util
import json
import re
import string
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import pytest
from awesomeversion import AwesomeVersion, AwesomeVersionStrategy
from homeassistant import const as ha_const
from homeassistant.components.brands.const import ALLOWED_IMAGES
from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.service import _SERVICES_SCHEMA
from homeassistant.loader import Manifest
from homeassistant.util.yaml import load_yaml_dict
from PIL import Image
from zeroconf._utils.name import service_type_name

from custom_components.evse_local import PLATFORMS
from custom_components.evse_local import config_flow as flow_module
from custom_components.evse_local.const import DOMAIN
from custom_components.evse_local.helpers import translate_error
from custom_components.evse_local.protocols import errors as protocol_errors
from custom_components.evse_local.services import async_setup_services

ROOT = Path(__file__).parent.parent
PACKAGE = ROOT / "custom_components" / DOMAIN
MODULE = f"custom_components.{DOMAIN}"

# Same strategies the loader accepts for a custom integration's version.
VERSION_STRATEGIES = [
    AwesomeVersionStrategy.CALVER,
    AwesomeVersionStrategy.SEMVER,
    AwesomeVersionStrategy.SIMPLEVER,
    AwesomeVersionStrategy.BUILDVER,
    AwesomeVersionStrategy.PEP440,
]
IOT_CLASSES = {
    "assumed_state",
    "calculated",
    "cloud_polling",
    "cloud_push",
    "local_polling",
    "local_push",
}
# integration_type values a custom integration may use (the loader's Literal
# also has entity/system/hardware/virtual, which are for core only).
CUSTOM_INTEGRATION_TYPES = {"device", "helper", "hub", "service"}
HACS_KEYS = {
    "name",
    "content_in_root",
    "zip_release",
    "filename",
    "hide_default_branch",
    "country",
    "homeassistant",
    "render_readme",
    "hacs",
    "persistent_directory",
}
# Rule names of the Integration Quality Scale, as listed by hassfest's
# quality_scale.py (home-assistant/core, script/hassfest).
QUALITY_SCALE_RULES = {
    # Bronze
    "action-setup",
    "appropriate-polling",
    "brands",
    "common-modules",
    "config-flow",
    "config-flow-test-coverage",
    "dependency-transparency",
    "docs-actions",
    "docs-conditions",
    "docs-high-level-description",
    "docs-installation-instructions",
    "docs-removal-instructions",
    "docs-triggers",
    "entity-event-setup",
    "entity-unique-id",
    "has-entity-name",
    "runtime-data",
    "test-before-configure",
    "test-before-setup",
    "unique-config-entry",
    # Silver
    "action-exceptions",
    "config-entry-unloading",
    "docs-configuration-parameters",
    "docs-installation-parameters",
    "entity-unavailable",
    "integration-owner",
    "log-when-unavailable",
    "parallel-updates",
    "reauthentication-flow",
    "test-coverage",
    # Gold
    "devices",
    "diagnostics",
    "discovery",
    "discovery-update-info",
    "docs-data-update",
    "docs-examples",
    "docs-known-limitations",
    "docs-supported-devices",
    "docs-supported-functions",
    "docs-troubleshooting",
    "docs-use-cases",
    "dynamic-devices",
    "entity-category",
    "entity-device-class",
    "entity-disabled-by-default",
    "entity-translations",
    "exception-translations",
    "icon-translations",
    "reconfiguration-flow",
    "repair-issues",
    "stale-devices",
    # Platinum
    "async-dependency",
    "inject-websession",
    "strict-typing",
}

# hassfest's rules for translation keys and strings.
RE_TRANSLATION_KEY = re.compile(r"^(?!.+[_-]{2})(?![_-])[a-z0-9-_]+(?<![_-])$")
RE_PLACEHOLDER_IN_SINGLE_QUOTES = re.compile(r"'{\w+}'")
RE_COMBINED_REFERENCE = re.compile(r"(.+\[%)|(%\].+)")
RE_URL = re.compile(
    r"(((ftp|ftps|scp|http|https|mqtt|mqtts|socket|socks5)://|www\.)"
    r"[a-z0-9]+([\-\.]{1}[a-z0-9]+)*\.[a-z]{2,5}(:[0-9]{1,5})?(/.*)?)",
    re.IGNORECASE,
)
RE_MDI = re.compile(r"^mdi:[a-z0-9]+(-[a-z0-9]+)*$")
RE_MARKDOWN_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def _json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


MANIFEST = _json(PACKAGE / "manifest.json")
HACS = _json(ROOT / "hacs.json")
STRINGS = _json(PACKAGE / "translations" / "en.json")
ICONS = _json(PACKAGE / "icons.json")
SERVICES_YAML: dict[str, Any] = load_yaml_dict(str(PACKAGE / "services.yaml"))


def _descriptions(platform: str) -> tuple[Any, ...]:
    """Every description of a platform: chargers', groups' and solar ones."""
    module = importlib.import_module(f"{MODULE}.{platform}")
    descriptions: tuple[Any, ...] = ()
    for name, value in vars(module).items():
        if name.endswith("DESCRIPTIONS") and isinstance(value, tuple):
            descriptions += value
    return descriptions


def _entity_states(platform: str, description: Any) -> set[str] | None:
    """The states an entity can have that need a translation (None: any)."""
    if platform == "select":
        return set(description.options)
    if platform == "sensor" and description.device_class is SensorDeviceClass.ENUM:
        return set(description.options)
    if platform in ("binary_sensor", "switch"):
        return {"on", "off"}
    return None


def _text(node: ast.AST | None) -> str | None:
    """The value of a string literal node, else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _package_sources() -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"))


def _registered_services() -> dict[str, Any]:
    """Name -> schema of every action ``async_setup_services`` registers."""
    hass = MagicMock()
    async_setup_services(hass)
    services: dict[str, Any] = {}
    for call in hass.services.async_register.call_args_list:
        domain, name = call.args[:2]
        assert domain == DOMAIN
        services[name] = call.kwargs["schema"]
    return services


def _schema_fields(schema: Any) -> dict[str, bool]:
    """Field name -> required, from a probatio/voluptuous mapping schema."""
    return {
        str(marker): type(marker).__name__ == "Required" for marker in schema.schema
    }


# --- manifest.json --------------------------------------------------------


def test_manifest_required_keys() -> None:
    """The keys a custom integration needs (hassfest, HACS, the loader)."""
    for key in (
        "domain",
        "name",
        "version",
        "documentation",
        "issue_tracker",
        "codeowners",
        "iot_class",
        "integration_type",
        "config_flow",
        "requirements",
    ):
        assert key in MANIFEST, f"manifest.json lacks {key}"
    assert MANIFEST["domain"] == DOMAIN == PACKAGE.name
    assert MANIFEST["name"] == HACS["name"]


def test_manifest_known_keys_and_types() -> None:
    """Only keys the loader's Manifest knows, with valid values."""
    known = Manifest.__required_keys__ | Manifest.__optional_keys__
    # Set by the loader itself, never by an integration.
    known -= {"is_built_in", "overwrites_built_in"}
    assert set(MANIFEST) <= known, set(MANIFEST) - known

    AwesomeVersion(MANIFEST["version"], ensure_strategy=VERSION_STRATEGIES)
    for key in ("documentation", "issue_tracker"):
        assert cv.url(MANIFEST[key]).startswith("https://")
    assert MANIFEST["codeowners"]
    assert all(owner.startswith("@") for owner in MANIFEST["codeowners"])
    assert MANIFEST["iot_class"] in IOT_CLASSES
    allowed_types = set(
        typing.get_args(typing.get_type_hints(Manifest)["integration_type"])
    )
    assert MANIFEST["integration_type"] in CUSTOM_INTEGRATION_TYPES & allowed_types
    assert MANIFEST["config_flow"] is True
    assert (PACKAGE / "config_flow.py").is_file()
    for key in ("dependencies", "after_dependencies", "loggers"):
        assert all(isinstance(value, str) for value in MANIFEST.get(key, []))
    # A custom domain must not shadow a core integration.
    assert importlib.util.find_spec(f"homeassistant.components.{DOMAIN}") is None


def test_manifest_key_order() -> None:
    """hassfest: domain, name, then the other keys alphabetically."""
    keys = list(MANIFEST)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])


def test_manifest_requirements_pinned() -> None:
    """Every requirement pinned with ==, matching what the tests run with."""
    for requirement in MANIFEST["requirements"]:
        name, sep, version = requirement.partition("==")
        assert sep == "==", f"{requirement} is not pinned with =="
        assert name, requirement
        assert version, requirement
        assert importlib.metadata.version(name) == version, requirement


def test_manifest_loggers() -> None:
    """Each requirement's logger is declared, so the logger integration finds it."""
    loggers = set(MANIFEST["loggers"])
    for requirement in MANIFEST["requirements"]:
        name = requirement.partition("==")[0].lower().replace("-", "_")
        assert name in loggers, f"{name} missing from loggers"


def test_manifest_zeroconf() -> None:
    """Zeroconf matchers: a full service type; matcher values lower-case."""
    assert MANIFEST["zeroconf"]
    for entry in MANIFEST["zeroconf"]:
        matcher: dict[str, Any] = {"type": entry} if isinstance(entry, str) else entry
        type_ = matcher["type"]
        assert type_.endswith(("._tcp.local.", "._udp.local.")), type_
        # What Home Assistant's zeroconf browser accepts.
        assert service_type_name(type_, strict=False)
        assert set(matcher) <= {"type", "name", "properties"}, matcher
        if "name" in matcher:
            assert matcher["name"] == matcher["name"].lower()
        for value in matcher.get("properties", {}).values():
            assert value == value.lower()


def test_config_schema() -> None:
    """hassfest: an integration with async_setup declares its CONFIG_SCHEMA."""
    integration = importlib.import_module(MODULE)
    assert hasattr(integration, "async_setup")
    assert hasattr(integration, "CONFIG_SCHEMA")


# --- HACS -----------------------------------------------------------------


def test_hacs_json() -> None:
    """Only keys of HACS's schema; a minimum version we actually test."""
    assert set(HACS) <= HACS_KEYS, set(HACS) - HACS_KEYS
    assert HACS["name"]
    minimum = AwesomeVersion(HACS["homeassistant"])
    assert minimum.valid
    assert minimum <= AwesomeVersion(ha_const.__version__), (
        f"hacs.json asks for {minimum}, tests run {ha_const.__version__}"
    )
    assert HACS.get("content_in_root", False) is False
    assert not HACS.get("zip_release", False)


def test_repository_layout() -> None:
    """HACS: one integration under custom_components/; README and info.md."""
    folders = [
        path.name
        for path in (ROOT / "custom_components").iterdir()
        if path.is_dir() and path.name != "__pycache__"
    ]
    assert folders == [DOMAIN]
    assert (ROOT / "README.md").read_text(encoding="utf-8").strip()
    assert (ROOT / "info.md").read_text(encoding="utf-8").strip()


@pytest.mark.parametrize("document", ["README.md", "info.md"])
def test_document_links(document: str) -> None:
    """Relative links and images point at files that exist."""
    text = (ROOT / document).read_text(encoding="utf-8")
    for target in RE_MARKDOWN_LINK.findall(text):
        if target.startswith(("http://", "https://", "mailto:", "#")):
            continue
        path = target.split("#", 1)[0]
        assert (ROOT / path).exists(), f"{document} links to missing {target}"


def test_readme_has_images() -> None:
    """The HACS action's images check: the README shows the integration."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert re.search(r"!\[[^\]]*\]\([^)]+\.(png|jpg|gif|svg)\)", text)


def test_info_links_to_documentation() -> None:
    """info.md points at the same repository as the manifest."""
    text = (ROOT / "info.md").read_text(encoding="utf-8")
    assert MANIFEST["documentation"] in text


# --- brand ----------------------------------------------------------------


def test_brand_images() -> None:
    """Local brand images (Home Assistant 2026.3+): names the brands API serves."""
    brand = PACKAGE / "brand"
    names = {path.name for path in brand.iterdir()}
    assert "icon.png" in names
    assert names <= ALLOWED_IMAGES, names - ALLOWED_IMAGES
    sizes = {"icon.png": (256, 256), "icon@2x.png": (512, 512)}
    for name, size in sizes.items():
        if name in names:
            with Image.open(brand / name) as image:
                assert image.format == "PNG"
                assert image.size == size, name


# --- translations ---------------------------------------------------------


def _strings(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, f"{path}.{key}" if path else key)
    else:
        yield path, node


def test_translation_strings_valid() -> None:
    """hassfest's string rules: no HTML, URLs, spacing or bad placeholders."""
    for path, value in _strings(STRINGS):
        assert isinstance(value, str), path
        cv.string_with_no_html(value)
        assert not RE_PLACEHOLDER_IN_SINGLE_QUOTES.search(value), path
        assert not RE_COMBINED_REFERENCE.search(value), path
        assert value == value.strip(), path
        assert not RE_URL.search(value), f"{path}: use a placeholder for URLs"
        for _, field, _, _ in string.Formatter().parse(value):
            if field:
                assert field.isidentifier(), path
                assert ".state." not in path, f"{path}: no placeholders in states"


def test_translation_keys_valid() -> None:
    """Keys of entities, states, services, fields and exceptions."""
    keys: list[str] = []
    for platform in STRINGS["entity"].values():
        for key, entity in platform.items():
            keys += [key, *entity.get("state", {})]
    for service in STRINGS["services"].values():
        keys += list(service.get("fields", {}))
    keys += list(STRINGS["services"]) + list(STRINGS["exceptions"])
    for key in keys:
        assert RE_TRANSLATION_KEY.match(key), key


def test_entity_translations() -> None:
    """Every description has a name; every option a state; nothing unused."""
    assert set(STRINGS["entity"]) <= {str(platform) for platform in PLATFORMS}
    for platform in PLATFORMS:
        strings = STRINGS["entity"].get(str(platform), {})
        keys = set()
        for description in _descriptions(str(platform)):
            key = description.translation_key
            assert key, f"{platform}.{description.key} has no translation_key"
            keys.add(key)
            assert "name" in strings.get(key, {}), f"entity.{platform}.{key}.name"
            states = set(strings[key].get("state", {}))
            options = _entity_states(str(platform), description)
            if platform == "select" or (options and platform == "sensor"):
                assert options is not None
                assert options <= states, f"{platform}.{key}: {options - states}"
            if states:
                assert options is not None, f"{platform}.{key} has no states"
                assert states <= options, f"unused: {platform}.{key} {states - options}"
        assert set(strings) <= keys, f"unused: entity.{platform} {set(strings) - keys}"


def _exception_keys_in_code() -> tuple[set[str], set[str]]:
    """(keys raised as literals, every string literal) in the package."""
    raised: set[str] = set()
    literals: set[str] = set()
    for _, tree in _package_sources():
        for node in ast.walk(tree):
            if (text := _text(node)) is not None:
                literals.add(text)
            if not isinstance(node, ast.Call):
                continue
            keywords = {kw.arg: kw.value for kw in node.keywords}
            key = _text(keywords.get("translation_key"))
            if "translation_domain" in keywords and key is not None:
                raised.add(key)
    return raised, literals


def test_exception_translations() -> None:
    """Every translated exception has a message; none is unused."""
    messages = STRINGS["exceptions"]
    raised, literals = _exception_keys_in_code()
    for error_class in vars(protocol_errors).values():
        if isinstance(error_class, type) and issubclass(
            error_class, protocol_errors.EvseError
        ):
            err = translate_error(error_class("boom"), "Charger")
            assert err.translation_key is not None
            raised.add(err.translation_key)
    for key in raised:
        assert "message" in messages.get(key, {}), f"exceptions.{key}.message"
    assert set(messages) <= literals, f"unused: {set(messages) - literals}"


TRANSLATED_EXCEPTIONS = {
    "ConfigEntryAuthFailed",
    "ConfigEntryError",
    "ConfigEntryNotReady",
    "HomeAssistantError",
    "ServiceValidationError",
    "UpdateFailed",
}


def test_raised_exceptions_are_translated() -> None:
    """exception-translations: Home Assistant errors carry a translation key."""
    for path, tree in _package_sources():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            if node.func.id in TRANSLATED_EXCEPTIONS:
                keywords = {kw.arg for kw in node.keywords}
                assert {"translation_domain", "translation_key"} <= keywords, (
                    f"{path.name}:{node.lineno} raises {node.func.id} untranslated"
                )


def key_is_field(key: ast.expr | None) -> bool:
    """A dict key naming a form field (``CONF_...``) in an errors dict."""
    return isinstance(key, ast.Name) and key.id.startswith("CONF_")


def _flow_usage() -> dict[str, set[str]]:
    """Steps, menu options, errors and aborts the flows can show."""
    tree = ast.parse(Path(flow_module.__file__ or "").read_text(encoding="utf-8"))
    usage: dict[str, set[str]] = {
        "config_steps": set(),
        "options_steps": set(),
        "menu_options": set(),
        "errors": set(),
        "aborts": set(),
        "calls": set(),
        "probe_errors": set(),
    }
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
        steps = "options_steps" if "Options" in cls.name else "config_steps"
        for node in ast.walk(cls):
            if isinstance(node, ast.keyword) and node.arg == "step_id":
                step = _text(node.value)
                assert step is not None
                usage[steps].add(step)
            if isinstance(node, ast.keyword) and node.arg == "menu_options":
                assert isinstance(node.value, ast.List)
                usage["menu_options"] |= {
                    text for item in node.value.elts if (text := _text(item))
                }
            if (
                isinstance(node, ast.keyword)
                and node.arg == "reason"
                and (reason := _text(node.value)) is not None
            ):
                usage["aborts"].add(reason)
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else ""
                name = func.id if isinstance(func, ast.Name) else name
                usage["calls"].add(name)
                if name == "AbortFlow" and (reason := _text(node.args[0])):
                    usage["aborts"].add(reason)
    # Form errors ({"base": ...}, {CONF_X: ...}, errors[X] = ...) anywhere in the module: validation helpers
    # outside the flow classes too. Only a probe's errors can end a discovery
    # flow as an abort (async_abort(reason=errors["base"])).
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if (_text(key) == "base" or key_is_field(key)) and (
                        error := _text(value)
                    ):
                        usage["errors"].add(error)
                        if function.name == "_probe":
                            usage["probe_errors"].add(error)
            if (
                isinstance(node, ast.Assign)
                and isinstance(target := node.targets[0], ast.Subscript)
                and isinstance(target.value, ast.Name)
                and target.value.id == "errors"
                and (error := _text(node.value))
            ):
                usage["errors"].add(error)
    calls = usage["calls"]
    # Aborts Home Assistant's flow helpers raise on our behalf.
    if calls & {"_abort_if_unique_id_configured", "_async_abort_entries_match"}:
        usage["aborts"].add("already_configured")
    if "async_update_reload_and_abort" in calls:
        if "_get_reauth_entry" in calls:
            usage["aborts"].add("reauth_successful")
        if "_get_reconfigure_entry" in calls:
            usage["aborts"].add("reconfigure_successful")
    if "async_set_unique_id" in calls:
        # raise_on_progress defaults to True (the zeroconf path relies on it).
        usage["aborts"].add("already_in_progress")
    # A failed discovery probe aborts with the probe's error
    # (async_abort(reason=errors["base"])); invalid_auth asks instead.
    usage["aborts"] |= usage["probe_errors"] - {"invalid_auth"}
    return usage


def test_config_flow_translations() -> None:
    """Every step, menu option, error and abort reason is translated."""
    usage = _flow_usage()
    config = STRINGS["config"]
    assert set(config["step"]) == usage["config_steps"]
    assert set(STRINGS["options"]["step"]) == usage["options_steps"]
    assert set(config["step"]["user"]["menu_options"]) == usage["menu_options"]
    # Options forms share the errors of the config forms, and have their own.
    assert set(config["error"]) | set(STRINGS["options"]["error"]) == usage["errors"]
    assert set(config["abort"]) <= usage["aborts"], "unused abort reasons"


def test_config_flow_abort_translations_complete() -> None:
    """Every abort the flow can end in has a message."""
    missing = _flow_usage()["aborts"] - set(STRINGS["config"]["abort"])
    assert not missing, missing


def test_config_flow_fields_translated() -> None:
    """Every form field has a label and a description (config-flow rule)."""
    credentials = {str(key) for key in flow_module._CREDENTIALS}
    http = {str(key) for key in flow_module._host_schema(None).schema}
    modbus = {str(key) for key in flow_module._MODBUS_SCHEMA.schema}
    fields = {
        "http": http,
        "modbus": modbus,
        "zeroconf_confirm": credentials,
        "reauth_confirm": credentials,
        "reconfigure": http | modbus,
    }
    steps = STRINGS["config"]["step"]
    for step, keys in fields.items():
        assert set(steps[step]["data"]) == keys, step
        assert set(steps[step]["data_description"]) == keys, step
    for flow in (STRINGS["config"], STRINGS["options"]):
        for step_id, step in flow["step"].items():
            # hassfest: a described field must be a field.
            assert set(step.get("data_description", {})) <= set(step.get("data", {}))
            assert set(step.get("data", {})) <= set(step.get("data_description", {})), (
                step_id
            )


def test_service_translations() -> None:
    """Every action and field has a name and a description; nothing unused."""
    strings = STRINGS["services"]
    assert set(strings) == set(SERVICES_YAML)
    for service, spec in SERVICES_YAML.items():
        assert strings[service].get("name"), service
        assert strings[service].get("description"), service
        fields = spec.get("fields", {})
        assert set(strings[service].get("fields", {})) == set(fields), service
        for field in fields:
            assert strings[service]["fields"][field].get("name"), field
            assert strings[service]["fields"][field].get("description"), field


# --- icons.json -----------------------------------------------------------


def test_icons() -> None:
    """Structure, icon names, and keys that match translation keys and states."""
    assert set(ICONS) <= {"entity", "services"}
    for platform, entities in ICONS["entity"].items():
        descriptions = {d.translation_key: d for d in _descriptions(platform)}
        for key, icon in entities.items():
            assert key in descriptions, f"icons: {platform}.{key} is no entity"
            assert set(icon) <= {"default", "state", "state_attributes", "range"}
            assert "default" in icon, f"{platform}.{key}"
            assert RE_MDI.match(icon["default"]), icon["default"]
            options = _entity_states(platform, descriptions[key])
            for state, state_icon in icon.get("state", {}).items():
                assert options is not None, f"{platform}.{key} has no states"
                assert state in options, f"{platform}.{key}.{state}"
                assert RE_MDI.match(state_icon), state_icon
    assert set(ICONS["services"]) == set(SERVICES_YAML)
    for service, icon in ICONS["services"].items():
        assert set(icon) <= {"service", "sections"}, service
        assert RE_MDI.match(icon["service"]), service


# --- services.yaml --------------------------------------------------------


def test_services_yaml_schema() -> None:
    """Home Assistant loads services.yaml with this schema (selectors too)."""
    _SERVICES_SCHEMA(SERVICES_YAML)


def test_services_match_registration() -> None:
    """Registered actions = services.yaml; fields and required flags agree."""
    registered = _registered_services()
    assert set(registered) == set(SERVICES_YAML)
    for service, schema in registered.items():
        fields = {
            name: bool(spec.get("required", False))
            for name, spec in SERVICES_YAML[service].get("fields", {}).items()
        }
        assert fields == _schema_fields(schema), service


# --- quality_scale.yaml ---------------------------------------------------


def _quality_scale() -> dict[str, dict[str, str | None]]:
    rules = load_yaml_dict(str(PACKAGE / "quality_scale.yaml"))["rules"]
    result: dict[str, dict[str, str | None]] = {}
    for name, value in rules.items():
        if isinstance(value, str):
            result[name] = {"status": value, "comment": None}
        else:
            assert set(value) == {"status", "comment"}, name
            result[name] = value
    return result


def test_quality_scale_rules() -> None:
    """Every rule, no other; done / todo / exempt, with a reason when not done."""
    rules = _quality_scale()
    assert set(rules) == QUALITY_SCALE_RULES, set(rules) ^ QUALITY_SCALE_RULES
    for name, rule in rules.items():
        assert rule["status"] in {"done", "todo", "exempt"}, name
        if rule["status"] != "done":
            assert rule["comment"], f"{name} is {rule['status']} without a reason"


def test_quality_scale_claims() -> None:
    """Rules marked done that the code can show, checked against the code."""
    rules = _quality_scale()
    integration = importlib.import_module(MODULE)
    sources = "\n".join(path.read_text() for path in PACKAGE.rglob("*.py"))
    claims = {
        "brands": (PACKAGE / "brand" / "icon.png").is_file(),
        "config-flow": MANIFEST["config_flow"] is True,
        "diagnostics": (PACKAGE / "diagnostics.py").is_file(),
        "discovery": any(
            key in MANIFEST for key in ("zeroconf", "dhcp", "ssdp", "usb", "bluetooth")
        ),
        "icon-translations": bool(ICONS.get("entity")),
        "reauthentication-flow": hasattr(
            flow_module.EvseLocalConfigFlow, "async_step_reauth"
        ),
        "reconfiguration-flow": hasattr(
            flow_module.EvseLocalConfigFlow, "async_step_reconfigure"
        ),
        "config-entry-unloading": hasattr(integration, "async_unload_entry"),
        "stale-devices": hasattr(integration, "async_remove_config_entry_device"),
        "repair-issues": "issue_registry" in sources,
        "parallel-updates": all(
            hasattr(importlib.import_module(f"{MODULE}.{p}"), "PARALLEL_UPDATES")
            for p in PLATFORMS
        ),
        "action-setup": hasattr(integration, "async_setup"),
    }
    for name, holds in claims.items():
        if rules[name]["status"] == "done":
            assert holds, f"quality_scale.yaml says {name} is done; the code disagrees"
