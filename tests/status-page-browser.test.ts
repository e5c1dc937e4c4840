/**
 * The status page in real Chromium: a facilities user logs in through the form (session cookie), sees the
 * rooms with their occupancy and comfort, and the devices that need attention, and logs out. Without a
 * session the browser gets the login form. Dev mode shows its banner.
 */
import { existsSync } from 'node:fs';
import mqtt from 'mqtt';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPassword } from './helpers/campus.ts';
import { STAFF, startTestGateway, type TestGateway } from './helpers/gateway.ts';
import { chromiumPath } from './prerequisites.mjs';

const CHROMIUM = chromiumPath();

describe('status page in Chromium', () => {
  let t: TestGateway;
  let dev: TestGateway;
  let browser: Browser;
  beforeAll(async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} (Debian package chromium) is required`).toBe(true);
    t = await startTestGateway();
    dev = await startTestGateway({ dev: true, mqtt: { host: '127.0.0.1', port: 0, allowAnonymous: true } });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
    await dev?.stop();
  });

  it('shows rooms, comfort and quiet devices to a logged-in user', async () => {
    const client = await mqtt.connectAsync(t.mqttUrl, { username: 'env-1', password: testPassword('env-1') });
    await client.publishAsync(
      'devices/env-1/telemetry',
      JSON.stringify({ readings: { temperature: 23.5, co2: 1620, light: 500 } }),
      { qos: 1 },
    );
    await client.publishAsync('devices/env-1/telemetry', 'not json', { qos: 1 });
    await client.endAsync();

    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${t.httpUrl}/`);
    await page.getByLabel('Username').fill(STAFF.username);
    await page.getByLabel('Password').fill(STAFF.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(`${t.httpUrl}/`);
    const cookies = await context.cookies();
    expect(cookies.find((c) => c.name === 'ct_session')).toMatchObject({
      httpOnly: true,
      sameSite: 'Strict',
    });
    const row = page.locator('#rooms tr', { hasText: 'r-101' });
    await row.waitFor();
    await expect.poll(() => row.innerText()).toContain('1620 ppm');
    expect(await row.innerText()).toContain('alert');
    expect(await row.innerText()).toContain('23.5 °C');
    expect(await page.locator('#banner').isHidden()).toBe(true);
    expect(await page.locator('#accepted').innerText()).toBe('3');
    const quiet = await page.locator('#quiet').innerText();
    expect(quiet).toContain('env-1');
    expect(quiet).toContain('CT_ERR_NOT_JSON × 1');
    expect(quiet).toContain('env-2'); // never reported: offline
    // live: a new alert appears without a reload (server-sent events), well before the 15 s poll
    const c2 = await mqtt.connectAsync(t.mqttUrl, { username: 'env-2', password: testPassword('env-2') });
    await c2.publishAsync('devices/env-2/telemetry', JSON.stringify({ readings: { temperature: 31 } }), {
      qos: 1,
    });
    await c2.endAsync();
    await page.locator('#alerts', { hasText: 'r-102' }).waitFor({ timeout: 5000 });
    expect(await page.locator('#alerts').innerText()).toMatch(/room r-102 comfort alert: temperature 31/);
    await expect
      .poll(() => page.locator('#rooms tr', { hasText: 'r-102' }).innerText(), { timeout: 5000 })
      .toContain('31.0 °C');
    if (process.env.CT_SCREENSHOT) await page.screenshot({ path: process.env.CT_SCREENSHOT, fullPage: true });
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(`${t.httpUrl}/login`);
    await page.goto(`${t.httpUrl}/`);
    expect(await page.locator('form[action="/login"]').count()).toBe(1);
    await context.close();
  });

  it('gives the login form without a session, and says when the password is wrong', async () => {
    const page = await browser.newPage();
    const res = await page.goto(`${t.httpUrl}/`);
    expect(res?.status()).toBe(401);
    expect(await page.locator('#rooms').count()).toBe(0);
    await page.getByLabel('Username').fill(STAFF.username);
    await page.getByLabel('Password').fill('wrong');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').innerText()).toBe('wrong username or password');
    await page.close();
  });

  it('shows the dev-mode banner', async () => {
    const page = await browser.newPage();
    await page.goto(`${dev.httpUrl}/`);
    await expect.poll(() => page.locator('#banner').isVisible()).toBe(true);
    expect(await page.locator('#banner').innerText()).toMatch(/anonymous/);
    await page.close();
  });
});
