// End-to-end test of EVSE Local through Home Assistant's own frontend (run by scripts/e2e,
// which starts Home Assistant and the simulators and passes everything in the environment).
//
// For each simulated charger: add it through the config flow UI (Settings > Devices &
// services > Add integration > EVSE Local), open its device page, pause it with the
// "Charging enabled" switch, lower the "Charging current limit" slider with the keyboard,
// and check that the simulator received both and wrote nothing to EEPROM.
//
// Then the OCPP side: add a simulated Blink MQ 200 (MQ200-001) through the OCPP form, which
// starts the central system on $OCPP_PORT. A new set-up answers only listed cards: the car's
// plug-and-charge id is refused, then added in the charger's options (Configure > Cards),
// which starts the waiting car; its device page shows it connected and charging.
// The second MQ 200 (MQ200-002) then shows up on the Discovered card: accept it with its
// password, and allow its car's card with the evse_local.add_id_tag action. On MQ200-001's device page pause it ("Connector status" turns "Suspended by
// the charger") and lower its current limit, then resume it. Last, group both MQ 200s on
// a 40 A circuit (a charging group, added through the same menu) and check on the group's
// device page that their allocations add up to at most 40 A while both cars charge.
// Planned charging: on the GoPlug's device page set "Charging mode" to Planned, a
// "Plan target energy" of 0.1 kWh and a "Plan ready time" (06:45); without a price sensor the plan
// charges at once, and once the 0.1 kWh are in the plan pauses the charger ("done").
// Screenshots go to $E2E_SHOTS.
'use strict';

const { chromium } = require('playwright-core');
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (run scripts/e2e, not this file)`);
  return value;
};
const URL = env('HA_URL');
const SHOTS = env('E2E_SHOTS');
const WORK = env('E2E_WORK');
const STEPS = 6; // ArrowLeft presses on the current slider (1 A each)

const CHARGERS = [
  { key: 'openevse', name: 'OpenEVSE', kind: 'http', port: env('CURRENT_PORT'),
    shot: 'device-openevse.png' },
  { key: 'openevse-legacy', name: 'OpenEVSE legacy', kind: 'http', port: env('LEGACY_PORT'),
    shot: 'device-openevse-legacy.png' },
  { key: 'goplug', name: 'GoPlug Pro 32', kind: 'http', port: env('GOPLUG_PORT'),
    shot: 'device-goplug.png' },
  { key: 'goe', name: 'go-e Charger', kind: 'modbus', port: env('GOE_PORT'),
    shot: 'device-goe.png' },
];
const OCPP_PORT = env('OCPP_PORT');
const OCPP_PASSWORD = env('OCPP_PASSWORD');
const OCPP_MAX_CURRENT = 32; // "Maximum current" typed into both OCPP forms
// The first is typed in (its entry and device are named by its id); the second connects
// unknown and is offered on the Discovered card as "<vendor> <model> <id>".
const MQ200_TYPED = { key: 'mq200-001', cpId: 'MQ200-001', name: 'MQ200-001', kind: 'ocpp',
  shot: 'device-mq200.png' };
const MQ200_FOUND = { key: 'mq200-002', cpId: 'MQ200-002', name: 'Blink MQ 200 MQ200-002', kind: 'ocpp' };
const DISCOVERED_SHOT = 'discovered-mq200.png';
const CARD = 'MQ200-LOCAL'; // the simulated MQ 200s' plug-and-charge id
const CARD_NAME = 'Driveway car';
const GROUP = { name: 'Garage circuit', circuitLimit: 40, fallback: 6, shot: 'device-group.png' };
const DASHBOARD_SHOT = 'dashboard-chargers.png';
const PLAN = { charger: 'goplug', targetKwh: '0.1', readyTime: ['06', '45'], shot: 'device-goplug-plan.png' };

const t0 = Date.now();
const log = (msg) => console.log(`[e2e ${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${msg}`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class Failure extends Error {}
const check = (ok, msg) => { if (!ok) throw new Failure(msg); };

// Poll fn() until it returns a truthy value, at most `seconds`.
async function until(what, fn, seconds = 20) {
  const deadline = Date.now() + seconds * 1000;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last && last.ok !== false) return last;
    } catch (err) {
      last = err.message;
    }
    if (Date.now() > deadline) {
      throw new Failure(`timed out after ${seconds} s waiting for ${what} (last: ${JSON.stringify(last)})`);
    }
    await sleep(250);
  }
}

// ------------------------------------------------------------------ simulators

async function simState(charger) {
  if (charger.kind === 'modbus') {
    const out = execFileSync(env('E2E_PYTHON'), [path.join(__dirname, 'ha_helper.py'), 'goe-state', charger.port],
      { cwd: env('E2E_ROOT'), timeout: 15000, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const s = JSON.parse(out);
    return {
      charging: s.allow === 1 && s.car_state === 2,
      paused: s.allow === 0,
      current: s.ampere_volatile,
      eeprom: { ampere_eeprom: s.ampere_eeprom },
      raw: s,
    };
  }
  const resp = await fetch(`http://127.0.0.1:${charger.port}/sim/state`, { signal: AbortSignal.timeout(5000) });
  check(resp.ok, `GET /sim/state on :${charger.port} -> HTTP ${resp.status}`);
  const s = await resp.json();
  return {
    charging: s.state_name === 'charging',
    paused: ['sleeping', 'disabled'].includes(s.state_name),
    current: s.pilot,
    eeprom: { eeprom_writes: s.eeprom_writes, eeprom_current: s.eeprom_current },
    raw: { state_name: s.state_name, mode: s.mode, pilot: s.pilot, eeprom_current: s.eeprom_current, eeprom_writes: s.eeprom_writes },
  };
}

// ------------------------------------------------------------------ Home Assistant

const callWS = (page, msg) =>
  page.evaluate((m) => document.querySelector('home-assistant').hass.callWS(m), msg);
const haState = (page, entityId) =>
  page.evaluate((id) => document.querySelector('home-assistant').hass.states[id]?.state, entityId);

async function waitForFrontend(page) {
  await page.waitForFunction(() => document.querySelector('home-assistant')?.hass?.connection,
    null, { timeout: 30000 });
}

async function login(page) {
  await page.goto(`${URL}/`, { waitUntil: 'domcontentloaded' });
  await page.locator('input[name="username"]').fill(env('HA_USER'), { timeout: 30000 });
  await page.locator('input[name="password"]').fill(env('HA_PASSWORD'));
  await page.keyboard.press('Enter');
  await page.waitForURL((u) => !u.pathname.startsWith('/auth/'), { timeout: 30000 });
  await waitForFrontend(page);
  log(`logged in through the login page (${new globalThis.URL(page.url()).pathname})`);
}

const evseEntries = (page) => callWS(page, { type: 'config_entries/get', domain: 'evse_local' });

// Settings > Devices & services > Add integration > EVSE Local: the flow dialog, at the menu.
async function openAddIntegration(page) {
  await page.goto(`${URL}/config/integrations/dashboard`, { waitUntil: 'domcontentloaded' });
  await page.getByRole('button', { name: /add integration/i }).click({ timeout: 30000 });
  // The brand picker: type into its search field, pick EVSE Local.
  const picker = page.locator('dialog-add-integration');
  await picker.getByRole('textbox').first().fill('EVSE Local', { timeout: 15000 });
  await picker.getByText('EVSE Local', { exact: true }).click({ timeout: 15000 });
  return page.locator('dialog-data-entry-flow');
}

// A form field of the flow dialog by its label (text fields also carry name=, number
// fields do not; password fields have no textbox role, so they go by their type).
const field = (flow, label) => {
  const name = new RegExp(`^${label}\\*?$`, 'i');
  return flow.getByRole('textbox', { name }).or(flow.getByRole('spinbutton', { name })).first();
};
const passwordField = (flow) => flow.locator('input[type="password"]').first();

// After Submit: wait for the new config entry (or fail with the form's error), then close
// the dialog: through "Name and assign" (naming the device `deviceName` if given) when the
// entry has a device already, else through its Finish button.
async function finishFlow(page, flow, entriesBefore, what, deviceName) {
  const error = flow.locator('ha-alert[alert-type="error"]');
  const naming = flow.getByText('Name and assign');
  const found = await until(`the config entry of ${what}`, async () => {
    if (await error.count()) return { refused: (await error.first().innerText()).trim() };
    const fresh = (await evseEntries(page)).filter((e) => !entriesBefore.has(e.entry_id));
    return fresh.length === 1 && fresh[0].state === 'loaded' ? { entry: fresh[0] } : null;
  }, 45);
  if (found.refused) throw new Failure(`config flow for ${what} refused: ${found.refused}`);
  // The frontend shows its last step once it has looked for the entry's devices.
  const finish = flow.getByRole('button', { name: /finish$/i });
  if (deviceName) {
    // A network charger's device exists at once: always the naming step (its Finish
    // button may show before the step has its fields).
    await naming.waitFor({ timeout: 20000 });
    await flow.getByRole('textbox', { name: /device name/i }).fill(deviceName);
  } else {
    await naming.or(finish).first().waitFor({ timeout: 20000 });
  }
  await finish.first().click();
  await finish.first().waitFor({ state: 'hidden', timeout: 20000 });
  return found.entry;
}

// The device of a config entry, once it has the expected name.
async function entryDevice(page, entry, name, seconds = 15) {
  return until(`the device "${name}"`, async () => {
    const devices = await callWS(page, { type: 'config/device_registry/list' });
    const mine = devices.filter((d) => d.config_entries.includes(entry.entry_id));
    return mine.length === 1 && (mine[0].name_by_user || mine[0].name) === name ? mine[0] : null;
  }, seconds);
}

// The entity ids of a device, by translation key (waiting until all of `keys` exist).
async function deviceEntities(page, device, keys, what, seconds = 15) {
  let entities = [];
  await until(`the entities ${keys.join(', ')} of ${what}`, async () => {
    entities = (await callWS(page, { type: 'config/entity_registry/list' }))
      .filter((e) => e.device_id === device.id);
    return keys.every((key) => entities.some((e) => e.translation_key === key));
  }, seconds).catch((err) => {
    throw new Failure(`${err.message}; it has ${entities.map((e) => e.entity_id).join(', ')}`);
  });
  return entities;
}
const byKey = (entities, key) => entities.find((e) => e.translation_key === key)?.entity_id;

// Add one charger through Settings > Devices & services > Add integration.
async function addCharger(page, charger) {
  const entriesBefore = new Set((await evseEntries(page)).map((e) => e.entry_id));
  const flow = await openAddIntegration(page);
  const option = charger.kind === 'http'
    ? 'OpenEVSE or GoPlug (web interface on the network)'
    : 'go-e Charger (Modbus TCP)';
  await flow.getByText(option, { exact: true }).click({ timeout: 20000 });
  if (charger.kind === 'http') {
    await field(flow, 'Host').fill(`127.0.0.1:${charger.port}`, { timeout: 15000 });
  } else {
    await field(flow, 'Host').fill('127.0.0.1', { timeout: 15000 });
    await field(flow, 'Port').fill(String(charger.port));
    await field(flow, 'Unit ID').fill('1');
  }
  await flow.getByRole('button', { name: 'Submit' }).click();
  // Give the device a stable name (the default ends in part of a random serial).
  const entry = await finishFlow(page, flow, entriesBefore, charger.name, charger.name);
  const device = await entryDevice(page, entry, charger.name);
  const entities = await deviceEntities(page, device, ['charging_enabled', 'max_current'], charger.name);
  charger.deviceId = device.id;
  charger.switchId = byKey(entities, 'charging_enabled');
  charger.numberId = byKey(entities, 'max_current');
  log(`added ${charger.name} (127.0.0.1:${charger.port}) through the config flow: entry "${entry.title}", device ${device.id}`);
}

// Pause the charger and lower its current limit on its device page.
async function driveDevicePage(page, charger) {
  const before = await until(`${charger.name} charging in the simulator`, async () => {
    const s = await simState(charger);
    return s.charging ? s : { ok: false, ...s.raw };
  }, 30);

  await page.goto(`${URL}/config/devices/device/${charger.deviceId}`, { waitUntil: 'domcontentloaded' });
  await until(`${charger.switchId} on in the frontend`, async () => (await haState(page, charger.switchId)) === 'on');

  // 1. Pause with the "Charging enabled" switch.
  await clickChargingEnabled(page);
  const paused = await until(`${charger.name} paused in the simulator`, async () => {
    const s = await simState(charger);
    return s.paused ? s : { ok: false, ...s.raw };
  });
  await until(`${charger.switchId} off in the frontend`, async () => (await haState(page, charger.switchId)) === 'off');
  log(`${charger.name}: "Charging enabled" switched off in the UI -> simulator ${JSON.stringify(paused.raw)}`);

  // 2. Lower "Charging current limit" with its slider.
  const { shown, target } = await lowerWithSlider(page, charger, before.current);
  const limited = await until(`${charger.name} offering ${target} A in the simulator`, async () => {
    const s = await simState(charger);
    return s.current === target ? s : { ok: false, ...s.raw };
  });
  await until(`${charger.numberId} = ${target} in the frontend`,
    async () => Number(await haState(page, charger.numberId)) === target);
  check(JSON.stringify(limited.eeprom) === JSON.stringify(before.eeprom),
    `${charger.name}: EEPROM changed: before ${JSON.stringify(before.eeprom)}, after ${JSON.stringify(limited.eeprom)}`);
  check(limited.paused, `${charger.name}: no longer paused after the current change: ${JSON.stringify(limited.raw)}`);
  log(`${charger.name}: "Charging current limit" ${shown} -> ${target} A with the slider -> simulator ${JSON.stringify(limited.raw)} (EEPROM untouched)`);
  await screenshot(page, charger.shot);
}

// On the open device page: click the "Charging enabled" switch (to the other state).
async function clickChargingEnabled(page) {
  const toggle = page.locator('hui-toggle-entity-row', { hasText: 'Charging enabled' }).locator('ha-switch');
  await toggle.click({ timeout: 30000 });
}

// On the open device page: lower "Charging current limit" by STEPS with its slider (focus,
// ArrowLeft), after checking it shows `expected` A (what the charger offers).
async function lowerWithSlider(page, charger, expected) {
  const slider = page.locator('hui-number-entity-row', { hasText: 'Charging current limit' }).getByRole('slider');
  await slider.waitFor({ timeout: 15000 });
  const shown = Number(await slider.getAttribute('aria-valuenow'));
  const min = Number(await slider.getAttribute('aria-valuemin'));
  check(shown === expected,
    `${charger.name}: the slider shows ${shown} A but the charger offers ${expected} A`);
  const target = shown - STEPS;
  check(target >= min, `${charger.name}: ${target} A is below the slider's minimum ${min} A`);
  // One step at a time, each confirmed by Home Assistant: pressing faster races the
  // state updates of polled chargers, which move the slider back under the keyboard.
  for (let value = shown - 1; value >= target; value--) {
    await slider.focus();
    await page.keyboard.press('ArrowLeft');
    await until(`${charger.numberId} = ${value} in the frontend`,
      async () => Number(await haState(page, charger.numberId)) === value, 15);
  }
  return { shown, target };
}

// Blur whatever has the focus (a focused slider shows a value bubble), let the sensors
// catch up, and save a full-page screenshot.
async function screenshot(page, name) {
  await page.evaluate(() => {
    let el = document.activeElement;
    while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement;
    el?.blur();
  });
  await sleep(1500);
  await page.screenshot({ path: path.join(SHOTS, name), fullPage: true });
  log(`saved ${path.join(SHOTS, name)} (${new globalThis.URL(page.url()).pathname})`);
}

// ------------------------------------------------------------------ OCPP (Blink MQ 200)

// On the open device page: the row of the sensor `label` while it shows `text`.
const rowShows = (page, label, text) =>
  page.locator('hui-sensor-entity-row, hui-simple-entity-row', { hasText: label })
    .filter({ hasText: new RegExp(`(^|\\s)${text}(\\s|$)`) }).first();

// Look up an MQ 200's device and entities (they appear once it has reported). A new set-up
// answers only listed cards: the car's plug-and-charge id is refused and shown as the
// "Last refused card"; `allowCard` adds it (the options form, or the add_id_tag action),
// which starts the waiting car. Then wait until it shows connected with its car charging.
async function ocppCharging(page, mq, entry, allowCard) {
  const device = await entryDevice(page, entry, mq.name, 30);
  const entities = await deviceEntities(page, device,
    ['connected', 'connector_status', 'charging_enabled', 'max_current', 'refused_card'], mq.name, 30);
  mq.deviceId = device.id;
  mq.entryId = entry.entry_id;
  mq.connectedId = byKey(entities, 'connected');
  mq.statusId = byKey(entities, 'connector_status');
  mq.switchId = byKey(entities, 'charging_enabled');
  mq.numberId = byKey(entities, 'max_current');
  const refusedId = byKey(entities, 'refused_card');
  const card = await until(`${mq.name} refusing the car's card`, async () => {
    const refused = await haState(page, refusedId);
    const status = await haState(page, mq.statusId);
    return refused === CARD && status === 'preparing' ? refused : { ok: false, refused, status };
  }, 45);
  await allowCard(page, mq, card);
  await until(`${mq.name} connected and charging`, async () => {
    const connected = await haState(page, mq.connectedId);
    const status = await haState(page, mq.statusId);
    return connected === 'on' && status === 'charging' ? true : { ok: false, connected, status };
  }, 45);
}

// The charger's options (Settings > Devices & services > EVSE Local > its entry >
// Configure) > "Cards (RFID) that may charge": the refused card is filled in; name it.
async function addCardInOptions(page, mq, card) {
  await page.goto(`${URL}/config/integrations/integration/evse_local`, { waitUntil: 'domcontentloaded' });
  const row = page.locator('ha-config-entry-row', { hasText: mq.name }).first();
  await row.getByRole('button', { name: 'Configure' }).first().click({ timeout: 30000 });
  const flow = page.locator('dialog-data-entry-flow');
  await flow.getByText('Cards (RFID) that may charge', { exact: true }).click({ timeout: 20000 });
  const id = field(flow, 'Add a card: its id');
  await until(`the refused card ${card} offered in the form`, async () => (await id.inputValue()) === card);
  await field(flow, 'Its name').fill(CARD_NAME);
  await flow.getByRole('button', { name: 'Submit' }).click();
  await flow.getByRole('button', { name: /finish$/i }).first().click({ timeout: 20000 });
  log(`${mq.name}: added the refused card ${card} as "${CARD_NAME}" in the charger's options`);
}

// The same through the add_id_tag action (its response says the charger took the list).
async function addCardWithAction(page, mq, card) {
  const reply = await callWS(page, {
    type: 'call_service', domain: 'evse_local', service: 'add_id_tag',
    service_data: { config_entry_id: mq.entryId, id_tag: card, name: CARD_NAME }, return_response: true,
  });
  const added = reply.response;
  check(added?.local_list === 'synced', `add_id_tag answered ${JSON.stringify(added)}`);
  log(`${mq.name}: added the refused card ${card} with evse_local.add_id_tag -> ${JSON.stringify(added)}`);
}

// Add MQ200-001 through the OCPP form; this starts the central system on OCPP_PORT.
async function addOcppCharger(page, mq) {
  const entriesBefore = new Set((await evseEntries(page)).map((e) => e.entry_id));
  const flow = await openAddIntegration(page);
  await flow.getByText('Blink MQ 200 or another OCPP 1.6J charger', { exact: true }).click({ timeout: 20000 });
  await field(flow, 'Charge point ID').fill(mq.cpId, { timeout: 15000 });
  await passwordField(flow).fill(OCPP_PASSWORD);
  await field(flow, 'Maximum current').fill(String(OCPP_MAX_CURRENT));
  await field(flow, 'Port').fill(OCPP_PORT);
  await flow.getByRole('button', { name: 'Submit' }).click();
  const entry = await finishFlow(page, flow, entriesBefore, mq.name);
  check(entry.title === mq.name, `the OCPP entry is called "${entry.title}", not "${mq.name}"`);
  await ocppCharging(page, mq, entry, addCardInOptions);
  await page.goto(`${URL}/config/devices/device/${mq.deviceId}`, { waitUntil: 'domcontentloaded' });
  await rowShows(page, 'Connector status', 'Charging').waitFor({ timeout: 15000 });
  log(`added ${mq.name} through the OCPP form (central system on :${OCPP_PORT}): it connected and charges (device ${mq.deviceId})`);
}

// MQ200-002 is unknown to the central system: accept it from the Discovered card.
async function acceptDiscoveredOcppCharger(page, mq) {
  const entriesBefore = new Set((await evseEntries(page)).map((e) => e.entry_id));
  await page.goto(`${URL}/config/integrations/dashboard`, { waitUntil: 'domcontentloaded' });
  const card = page.locator('ha-config-flow-card', { hasText: mq.name });
  await card.waitFor({ timeout: 45000 });
  await page.getByText('Discovered', { exact: true }).first().waitFor({ timeout: 15000 });
  await screenshot(page, DISCOVERED_SHOT);
  await card.getByRole('button', { name: 'Add', exact: true }).click();

  const flow = page.locator('dialog-data-entry-flow');
  await flow.getByText(`The OCPP charger ${mq.cpId} is trying to connect`).waitFor({ timeout: 20000 });
  await passwordField(flow).fill(OCPP_PASSWORD);
  await field(flow, 'Maximum current').fill(String(OCPP_MAX_CURRENT));
  await flow.getByRole('button', { name: 'Submit' }).click();
  const entry = await finishFlow(page, flow, entriesBefore, mq.name);
  check(entry.title === mq.name, `the discovered entry is called "${entry.title}", not "${mq.name}"`);
  await ocppCharging(page, mq, entry, addCardWithAction);
  await page.goto(`${URL}/config/devices/device/${mq.deviceId}`, { waitUntil: 'domcontentloaded' });
  await rowShows(page, 'Connector status', 'Charging').waitFor({ timeout: 15000 });
  log(`accepted ${mq.name} from the Discovered card with its password: it connected and charges (device ${mq.deviceId})`);
}

// On MQ200-001's device page: pause it, lower its current limit, resume it.
async function driveOcppDevicePage(page, mq) {
  await page.goto(`${URL}/config/devices/device/${mq.deviceId}`, { waitUntil: 'domcontentloaded' });
  await until(`${mq.switchId} on in the frontend`, async () => (await haState(page, mq.switchId)) === 'on');
  const before = Number(await haState(page, mq.numberId));

  await clickChargingEnabled(page);
  await until(`${mq.statusId} = suspended_evse`, async () => {
    const status = await haState(page, mq.statusId);
    return status === 'suspended_evse' ? true : { ok: false, status };
  });
  await rowShows(page, 'Connector status', 'Suspended by the charger').waitFor({ timeout: 15000 });
  await until(`${mq.switchId} off in the frontend`, async () => (await haState(page, mq.switchId)) === 'off');
  log(`${mq.name}: "Charging enabled" switched off in the UI -> "Connector status" shows "Suspended by the charger"`);

  const { shown, target } = await lowerWithSlider(page, mq, before);
  check((await haState(page, mq.statusId)) === 'suspended_evse',
    `${mq.name}: no longer suspended after the current change: ${await haState(page, mq.statusId)}`);
  log(`${mq.name}: "Charging current limit" ${shown} -> ${target} A with the slider (the charger accepted the charging profile; still suspended)`);
  await screenshot(page, mq.shot);

  // Resume, so that both MQ 200s charge when they are grouped.
  await clickChargingEnabled(page);
  await until(`${mq.name} charging again`, async () => {
    const status = await haState(page, mq.statusId);
    return status === 'charging' ? true : { ok: false, status };
  }, 30);
  log(`${mq.name}: "Charging enabled" switched on again -> charging at ${await haState(page, mq.numberId)} A`);
}

// ------------------------------------------------------------------ planned charging

// On the device page: charging mode Planned, a target and a ready time, all in the UI;
// then the charger follows the plan: it charges, and the plan pauses it once the target is in.
async function planThroughUi(page, charger) {
  const entities = await deviceEntities(page, { id: charger.deviceId },
    ['charging_mode', 'plan_target_energy', 'plan_ready_time', 'plan_state'], charger.name);
  const modeId = byKey(entities, 'charging_mode');
  const stateId = byKey(entities, 'plan_state');
  await page.goto(`${URL}/config/devices/device/${charger.deviceId}`, { waitUntil: 'domcontentloaded' });
  // driveDevicePage left it paused by the user: a plan never resumes a user's pause.
  await until(`${charger.switchId} off in the frontend`, async () => (await haState(page, charger.switchId)) === 'off');
  await clickChargingEnabled(page);
  await until(`${charger.name} charging again`, async () => (await simState(charger)).charging, 30);

  const mode = page.locator('hui-select-entity-row', { hasText: 'Charging mode' }).locator('ha-select');
  await mode.click({ timeout: 15000 });
  await page.getByRole('menuitem', { name: 'Planned', exact: true }).click({ timeout: 15000 });
  await until(`${modeId} = planned`, async () => (await haState(page, modeId)) === 'planned');

  const target = page.locator('hui-number-entity-row', { hasText: 'Plan target energy' }).locator('input');
  await target.fill(PLAN.targetKwh, { timeout: 15000 });
  await target.press('Enter');
  // The frontend shows a 12-hour clock (en-US): a morning time keeps AM.
  const ready = page.locator('hui-time-entity-row', { hasText: 'Plan ready time' });
  await ready.getByRole('spinbutton', { name: 'hh' }).fill(String(Number(PLAN.readyTime[0])), { timeout: 15000 });
  await ready.getByRole('spinbutton', { name: 'mm' }).fill(PLAN.readyTime[1]);
  await ready.getByRole('spinbutton', { name: 'mm' }).press('Tab');
  const readyBy = await until(`${stateId} ready by ${PLAN.readyTime.join(':')}`, async () => {
    const attrs = await page.evaluate((id) => document.querySelector('home-assistant').hass.states[id]?.attributes, stateId);
    const at = attrs?.ready_by ? new Date(attrs.ready_by) : null;
    const local = at && at.toLocaleTimeString('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', minute: '2-digit' });
    return local === PLAN.readyTime.join(':') ? attrs.ready_by : { ok: false, ready_by: attrs?.ready_by ?? null };
  }, 30);
  log(`${charger.name}: "Charging mode" Planned, "Plan target energy" ${PLAN.targetKwh} kWh, "Plan ready time" ${PLAN.readyTime.join(':')} set in the UI (ready by ${readyBy})`);

  await until(`${stateId} charging`, async () => {
    const state = await haState(page, stateId);
    return state === 'charging' ? true : { ok: false, state };
  }, 60);
  const charging = await simState(charger);
  check(charging.charging, `${charger.name}: the plan says charging but the simulator is not: ${JSON.stringify(charging.raw)}`);
  const done = await until(`${charger.name} paused by the plan once ${PLAN.targetKwh} kWh are in`, async () => {
    const state = await haState(page, stateId);
    const s = await simState(charger);
    return state === 'done' && s.paused ? s : { ok: false, state, ...s.raw };
  }, 480); // no prices, all slots alike: the plan may take its time at the minimum current
  log(`${charger.name}: plan "charging" (no price sensor: at once), then "done" -> simulator ${JSON.stringify(done.raw)}`);
  await screenshot(page, PLAN.shot);
}

// ------------------------------------------------------------------ charging group

// Add a charging group of `members` (on one circuit) through the same menu.
async function addGroup(page, members) {
  const entriesBefore = new Set((await evseEntries(page)).map((e) => e.entry_id));
  const flow = await openAddIntegration(page);
  await flow.getByText('Charging group (chargers sharing one circuit)', { exact: true }).click({ timeout: 20000 });
  await field(flow, 'Name').fill(GROUP.name, { timeout: 15000 });
  // A check box per charger (the form lists them all). Toggled with the space bar: the
  // web component's styled box lies over the input and takes pointer clicks.
  const wanted = members.map((m) => m.name);
  for (const name of wanted) {
    const box = flow.getByRole('checkbox', { name, exact: true });
    await box.waitFor({ timeout: 15000 });
    if (!(await box.isChecked())) {
      await box.focus();
      await page.keyboard.press('Space');
    }
  }
  // The form replaces the menu under the pointer: the menu click's mouse-up can tick the
  // first charger as well (Home Assistant's frontend). Untick what is not wanted.
  const snapshot = await flow.ariaSnapshot();
  for (const [, name] of snapshot.matchAll(/checkbox "([^"]+)" \[checked\]/g)) {
    if (wanted.includes(name)) continue;
    log(`the group form also ticked "${name}": unticking it`);
    await flow.getByRole('checkbox', { name, exact: true }).focus();
    await page.keyboard.press('Space');
  }
  const ticked = await flow.getByRole('checkbox', { checked: true }).count();
  check(ticked === wanted.length, `the group form has ${ticked} chargers ticked, not ${wanted.length}`);
  for (const name of wanted) {
    check(await flow.getByRole('checkbox', { name, exact: true }).isChecked(), `${name} is ticked in the group form`);
  }
  await field(flow, 'Circuit maximum current').fill(String(GROUP.circuitLimit));
  await field(flow, 'Fallback current').fill(String(GROUP.fallback));
  await flow.getByRole('button', { name: 'Submit' }).click();
  const entry = await finishFlow(page, flow, entriesBefore, GROUP.name);
  const device = await entryDevice(page, entry, GROUP.name);
  GROUP.deviceId = device.id;
  log(`added the charging group "${GROUP.name}" (${members.map((m) => m.name).join(' + ')}, ${GROUP.circuitLimit} A) through the config flow`);
  return device;
}

// Both cars charge: the members' allocations add up to at most the circuit limit.
async function checkGroup(page, members) {
  const device = { id: GROUP.deviceId };
  const entities = await deviceEntities(page, device, ['allocation', 'allocation_reason'], GROUP.name);
  const allocations = entities.filter((e) => e.translation_key === 'allocation');
  const reasons = entities.filter((e) => e.translation_key === 'allocation_reason');
  check(allocations.length === members.length,
    `${GROUP.name}: ${allocations.length} allocation sensors for ${members.length} members`);
  await page.goto(`${URL}/config/devices/device/${GROUP.deviceId}`, { waitUntil: 'domcontentloaded' });
  const seen = await until(`both members charging within ${GROUP.circuitLimit} A`, async () => {
    const amps = await Promise.all(allocations.map(async (e) => Number(await haState(page, e.entity_id))));
    const statuses = await Promise.all(members.map((m) => haState(page, m.statusId)));
    const limits = await Promise.all(members.map(async (m) => Number(await haState(page, m.numberId))));
    const why = await Promise.all(reasons.map((e) => haState(page, e.entity_id)));
    const sum = amps.reduce((a, b) => a + b, 0);
    const ok = why.every((w) => w === 'shared') && amps.every((a) => a >= 6) && sum <= GROUP.circuitLimit && sum > 0
      && statuses.every((st) => st === 'charging')
      && [...limits].sort().join() === [...amps].sort().join();
    return ok ? { amps, sum, limits } : { ok: false, amps, why, statuses, limits };
  }, 45);
  for (const member of members) {
    await page.getByText(`${member.name} allocation`, { exact: true }).first().waitFor({ timeout: 15000 });
  }
  log(`${GROUP.name}: allocations ${seen.amps.join(' + ')} = ${seen.sum} A <= ${GROUP.circuitLimit} A while both cars charge ("Share of the circuit"); the members' current limits follow (${seen.limits.join(', ')} A)`);
  await screenshot(page, GROUP.shot);
}

async function main() {
  fs.mkdirSync(SHOTS, { recursive: true });
  const userDataDir = fs.mkdtempSync(path.join(WORK, 'chromium-'));
  const headed = process.env.E2E_HEADED === '1';
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: env('E2E_CHROMIUM'),
    headless: !headed,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ...(headed ? [] : ['--headless'])],
    viewport: { width: 1400, height: 1800 },
    locale: 'en-US',
    timezoneId: 'Europe/Berlin',
  });
  context.setDefaultTimeout(30000);
  const page = context.pages()[0] || await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (err) => pageErrors.push(String(err?.message ?? err).slice(0, 200)));
  try {
    await login(page);
    for (const charger of CHARGERS) await addCharger(page, charger);
    for (const charger of CHARGERS) await driveDevicePage(page, charger);
    await planThroughUi(page, CHARGERS.find((c) => c.key === PLAN.charger));
    await addOcppCharger(page, MQ200_TYPED);
    await acceptDiscoveredOcppCharger(page, MQ200_FOUND);
    await driveOcppDevicePage(page, MQ200_TYPED);
    await addGroup(page, [MQ200_TYPED, MQ200_FOUND]);
    await checkGroup(page, [MQ200_TYPED, MQ200_FOUND]);

    // The overview dashboard's "Devices" view (devices without an area): every charger.
    await page.goto(`${URL}/home/overview`, { waitUntil: 'domcontentloaded' });
    await page.locator('ha-tile-container', { hasText: 'Devices' }).first().click({ timeout: 30000 });
    await page.waitForURL(/\/home\/other-devices/, { timeout: 15000 });
    for (const name of [...CHARGERS, MQ200_TYPED, MQ200_FOUND, GROUP].map((c) => c.name)) {
      await page.getByText(name, { exact: true }).first().waitFor({ timeout: 15000 });
    }
    await screenshot(page, DASHBOARD_SHOT);
    if (pageErrors.length) log(`note: uncaught errors in the page: ${pageErrors.join(' | ')}`);
  } catch (err) {
    const shot = path.join(WORK, 'failure.png');
    await page.screenshot({ path: shot, fullPage: true }).catch(() => {});
    // What the accessibility tree shows, to fix a selector that no longer matches.
    const tree = await page.locator('body').ariaSnapshot({ timeout: 5000 }).catch((e) => String(e));
    fs.writeFileSync(path.join(WORK, 'failure-aria.log'), tree);
    log(`FAILED at ${page.url()}`);
    throw err;
  } finally {
    await context.close().catch(() => {});
  }
}

main().then(
  () => log(`browser test passed (${CHARGERS.length} chargers, 2 MQ 200s over OCPP, a charging group)`),
  (err) => {
    console.error(err instanceof Failure ? `[e2e] FAILED: ${err.message}` : err);
    process.exit(1);
  },
);
