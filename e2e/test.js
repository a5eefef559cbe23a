// End-to-end test of EVSE Local through Home Assistant's own frontend (run by scripts/e2e,
// which starts Home Assistant and the simulators and passes everything in the environment).
//
// For each simulated charger: add it through the config flow UI (Settings > Devices &
// services > Add integration > EVSE Local), open its device page, pause it with the
// "Charging enabled" switch, lower the "Charging current limit" slider with the keyboard,
// and check that the simulator received both and wrote nothing to EEPROM. Screenshots go
// to $E2E_SHOTS.
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
const DASHBOARD_SHOT = 'dashboard-chargers.png';

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

// Add one charger through Settings > Devices & services > Add integration.
async function addCharger(page, charger) {
  const entriesBefore = new Set((await callWS(page, { type: 'config_entries/get', domain: 'evse_local' }))
    .map((e) => e.entry_id));
  await page.goto(`${URL}/config/integrations/dashboard`, { waitUntil: 'domcontentloaded' });
  await page.getByRole('button', { name: /add integration/i }).click({ timeout: 30000 });
  // The brand picker: type into its search field, pick EVSE Local.
  const picker = page.locator('dialog-add-integration');
  await picker.getByRole('textbox').first().fill('EVSE Local', { timeout: 15000 });
  await picker.getByText('EVSE Local', { exact: true }).click({ timeout: 15000 });

  const flow = page.locator('dialog-data-entry-flow');
  const option = charger.kind === 'http'
    ? 'OpenEVSE or GoPlug (web interface on the network)'
    : 'go-e Charger (Modbus TCP)';
  await flow.getByText(option, { exact: true }).click({ timeout: 20000 });
  // A form field by its label (text fields also carry name=, number fields do not).
  const field = (label) => {
    const name = new RegExp(`^${label}\\*?$`, 'i');
    return flow.getByRole('textbox', { name }).or(flow.getByRole('spinbutton', { name })).first();
  };
  if (charger.kind === 'http') {
    await field('Host').fill(`127.0.0.1:${charger.port}`, { timeout: 15000 });
  } else {
    await field('Host').fill('127.0.0.1', { timeout: 15000 });
    await field('Port').fill(String(charger.port));
    await field('Unit ID').fill('1');
  }
  await flow.getByRole('button', { name: 'Submit' }).click();

  // Either the "Name and assign" step of a created entry, or an error in the form.
  const created = flow.getByText('Name and assign');
  const error = flow.locator('ha-alert[alert-type="error"]');
  await created.or(error).first().waitFor({ timeout: 45000 });
  if (await error.count()) {
    throw new Failure(`config flow for ${charger.name} refused: ${(await error.first().innerText()).trim()}`);
  }
  // Give the device a stable name (the default ends in part of a random serial).
  const nameField = flow.getByRole('textbox', { name: /device name/i });
  await nameField.fill(charger.name);
  await flow.getByRole('button', { name: /finish/i }).click();
  await flow.getByText('Name and assign').waitFor({ state: 'hidden', timeout: 20000 });

  const entry = await until(`the config entry of ${charger.name}`, async () => {
    const entries = await callWS(page, { type: 'config_entries/get', domain: 'evse_local' });
    const fresh = entries.filter((e) => !entriesBefore.has(e.entry_id));
    return fresh.length === 1 && fresh[0].state === 'loaded' ? fresh[0] : null;
  }, 30);
  const device = await until(`the device of ${charger.name}`, async () => {
    const devices = await callWS(page, { type: 'config/device_registry/list' });
    const mine = devices.filter((d) => d.config_entries.includes(entry.entry_id));
    return mine.length === 1 && (mine[0].name_by_user || mine[0].name) === charger.name ? mine[0] : null;
  }, 15);
  const entities = (await callWS(page, { type: 'config/entity_registry/list' }))
    .filter((e) => e.device_id === device.id);
  const byKey = (key) => entities.find((e) => e.translation_key === key)?.entity_id;
  charger.deviceId = device.id;
  charger.switchId = byKey('charging_enabled');
  charger.numberId = byKey('max_current');
  check(charger.switchId && charger.numberId,
    `${charger.name}: no charging_enabled switch or max_current number among ${entities.map((e) => e.entity_id)}`);
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
  const toggle = page.locator('hui-toggle-entity-row', { hasText: 'Charging enabled' }).locator('ha-switch');
  await toggle.click({ timeout: 30000 });
  const paused = await until(`${charger.name} paused in the simulator`, async () => {
    const s = await simState(charger);
    return s.paused ? s : { ok: false, ...s.raw };
  });
  await until(`${charger.switchId} off in the frontend`, async () => (await haState(page, charger.switchId)) === 'off');
  log(`${charger.name}: "Charging enabled" switched off in the UI -> simulator ${JSON.stringify(paused.raw)}`);

  // 2. Lower "Charging current limit": focus its slider, press ArrowLeft STEPS times.
  const slider = page.locator('hui-number-entity-row', { hasText: 'Charging current limit' }).getByRole('slider');
  await slider.waitFor({ timeout: 15000 });
  const shown = Number(await slider.getAttribute('aria-valuenow'));
  const min = Number(await slider.getAttribute('aria-valuemin'));
  check(shown === before.current,
    `${charger.name}: the slider shows ${shown} A but the simulator offers ${before.current} A`);
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

  // Blur the slider (it shows a value bubble while focused); let the sensors catch up.
  await page.evaluate(() => {
    let el = document.activeElement;
    while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement;
    el?.blur();
  });
  await sleep(1500);
  await page.screenshot({ path: path.join(SHOTS, charger.shot), fullPage: true });
  log(`saved ${path.join(SHOTS, charger.shot)}`);
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

    // The overview dashboard's "Devices" view (devices without an area): every charger.
    await page.goto(`${URL}/home/overview`, { waitUntil: 'domcontentloaded' });
    await page.locator('ha-tile-container', { hasText: 'Devices' }).first().click({ timeout: 30000 });
    await page.waitForURL(/\/home\/other-devices/, { timeout: 15000 });
    for (const charger of CHARGERS) {
      await page.getByText(charger.name, { exact: true }).first().waitFor({ timeout: 15000 });
    }
    await sleep(1500);
    await page.screenshot({ path: path.join(SHOTS, DASHBOARD_SHOT), fullPage: true });
    log(`saved ${path.join(SHOTS, DASHBOARD_SHOT)} (${new globalThis.URL(page.url()).pathname})`);
    if (pageErrors.length) log(`note: uncaught errors in the page: ${pageErrors.join(' | ')}`);
  } catch (err) {
    const shot = path.join(WORK, 'failure.png');
    await page.screenshot({ path: shot, fullPage: true }).catch(() => {});
    log(`FAILED at ${page.url()}`);
    throw err;
  } finally {
    await context.close().catch(() => {});
  }
}

main().then(
  () => log(`browser test passed (${CHARGERS.length} chargers)`),
  (err) => {
    console.error(err instanceof Failure ? `[e2e] FAILED: ${err.message}` : err);
    process.exit(1);
  },
);
