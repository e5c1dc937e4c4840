/**
 * The status page in real Chromium: a facilities user logs in through the form (session cookie), sees the
 * rooms with their occupancy and comfort, and the devices that need attention, and logs out. Without a
 * session the browser gets the login form. Dev mode shows its banner.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { campusFrom } from '../gateway/registry/index.ts';
import { testCampusData, testPassword } from './helpers/campus.ts';
import { STAFF, STAFF_AUTH, startTestGateway, type TestGateway } from './helpers/gateway.ts';
import { startTestHub, uplinkConfig } from './helpers/hub.ts';
import { publishReadings } from './helpers/publish.ts';

/** Where the run leaves its screenshots (gitignored): desktop and phone views of the page. */
const SCREENSHOTS = join(process.cwd(), '.tmp', 'screenshots');

import { chromiumPath } from './prerequisites.mjs';

const CHROMIUM = chromiumPath();

/** Fill and send the login form the page is showing. */
async function logIn(page: Page, password: string = STAFF.password): Promise<void> {
  await page.getByLabel('Username').fill(STAFF.username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
}

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
    await logIn(page);
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
    // The device view: what env-1 last sent and the payload it had refused, by code.
    await page.locator('#quiet').getByRole('button', { name: 'env-1' }).click();
    await page.locator('#device-errors').waitFor();
    const deviceView = await page.locator('#device-detail').innerText();
    expect(deviceView).toMatch(/co2 1620 ppm/);
    expect(deviceView).toMatch(/Rejected\s+CT_ERR_NOT_JSON × 1/);
    expect(await page.locator('#device-errors').innerText()).toContain('CT_ERR_NOT_JSON');
    await page.locator('#device-close').click();
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
    await logIn(page, 'wrong');
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').innerText()).toBe('wrong username or password');
    await page.close();
  });

  it('live: a reading recolours its value and occupies the room in under 2 s; quiet devices and a dead uplink are flagged', async () => {
    // Env devices that report every second (stale after 3 s), and an uplink to a hub that is not there.
    const data = (await testCampusData()) as { deviceKinds: { env: { expectedIntervalMs: number } } };
    data.deviceKinds.env.expectedIntervalMs = 1000;
    const g = await startTestGateway(
      {
        uplink: {
          connectionString:
            'Endpoint=sb://127.0.0.1:1/;SharedAccessKeyName=k;SharedAccessKey=s;UseDevelopmentEmulator=true',
          hubName: 'nowhere',
          backoff: { baseMs: 100, maxMs: 500 },
        },
      },
      { campus: campusFrom(data) },
    );
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      const page = await context.newPage();
      await page.goto(`${g.httpUrl}/login`);
      await logIn(page);
      await page.waitForURL(`${g.httpUrl}/`);
      // Rooms grouped by building and floor.
      await page.locator('#rooms tr.group', { hasText: 'b1 · floor b1-f1' }).waitFor();
      const device = await mqtt.connectAsync(g.mqttUrl, {
        username: 'env-2',
        password: testPassword('env-2'),
      });
      await device.publishAsync(
        'devices/env-2/telemetry',
        JSON.stringify({ readings: { co2: 600, temperature: 21.5, humidity: 45 } }),
        { qos: 1 },
      );
      const co2 = page.locator('#rooms tr[data-room="r-102"] td[data-quantity="co2"]');
      await expect.poll(() => co2.getAttribute('data-level'), { timeout: 5000 }).toBe('ok');
      const published = Date.now();
      await device.publishAsync(
        'devices/env-2/telemetry',
        JSON.stringify({ readings: { co2: 1620, light: 500 } }),
        { qos: 1 },
      );
      await expect.poll(() => co2.getAttribute('data-level'), { timeout: 2000, interval: 50 }).toBe('alert');
      await expect
        .poll(() => page.locator('#rooms tr[data-room="r-102"] .pill.occupied').count(), {
          timeout: 2000,
          interval: 50,
        })
        .toBe(1);
      const recolouredMs = Date.now() - published;
      expect(recolouredMs).toBeLessThan(2000);
      expect(await co2.innerText()).toMatch(/1620 ppm \(alert\)/);
      // The uplink's hub is unreachable: the banner says the data is safe here.
      await expect
        .poll(() => page.locator('#offline').innerText(), { timeout: 5000 })
        .toMatch(/Uplink offline.*data is safe on this gateway: \d+ items waiting/);
      await device.endAsync();
      // env-2 now falls silent: stale after 3 × 1 s, listed among the devices needing attention.
      await expect
        .poll(() => page.locator('#quiet tr', { hasText: 'env-2' }).innerText(), { timeout: 8000 })
        .toMatch(/stale|offline/);
      // The filter keeps only rooms needing attention: r-102 (CO2 alert), not a room that is fine.
      await page.getByLabel('only rooms needing attention').check();
      await expect
        .poll(() =>
          page
            .locator('#rooms tr[data-room]')
            .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-attention'))),
        )
        .not.toContain(null);
      expect(await page.locator('#rooms tr[data-room="r-102"]').count()).toBe(1);
      mkdirSync(SCREENSHOTS, { recursive: true });
      await page.screenshot({ path: join(SCREENSHOTS, 'status-desktop.png'), fullPage: true });
      await page.setViewportSize({ width: 390, height: 844 });
      await page.getByLabel('only rooms needing attention').uncheck();
      await page.locator('#rooms tr[data-room="r-101"]').waitFor();
      // Nothing wider than the phone: no horizontal scrolling.
      expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
      await page.screenshot({ path: join(SCREENSHOTS, 'status-phone.png'), fullPage: true });
    } finally {
      await context.close();
      await g.stop();
    }
  });

  it("charts a room's last 24 h from the gateway's own aggregates, with uPlot served by the gateway", async () => {
    const g = await startTestGateway();
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      const bucket = 5 * 60_000;
      const t0 = Math.floor((Date.now() - 2 * 3600_000) / bucket) * bucket;
      const client = await mqtt.connectAsync(g.mqttUrl, {
        username: 'env-1',
        password: testPassword('env-1'),
      });
      for (let i = 0; i < 40; i++) {
        const readings = { co2: 450 + 20 * i, temperature: 20 + i / 10 };
        await client.publishAsync(
          'devices/env-1/backfill',
          JSON.stringify({ ts: t0 + i * 60_000, readings }),
          {
            qos: 1,
          },
        );
      }
      await client.endAsync();
      // The backfilled windows go out as late corrections within a few seconds; then the chart has data.
      await expect
        .poll(
          async () => {
            const res = await fetch(`${g.httpUrl}/api/rooms/r-101/history`, {
              headers: { authorization: STAFF_AUTH },
            });
            return ((await res.json()) as { series: { co2?: unknown[] } }).series.co2?.length ?? 0;
          },
          { timeout: 10_000 },
        )
        .toBeGreaterThanOrEqual(5);
      const page = await context.newPage();
      const assets: string[] = [];
      page.on('response', (r) => {
        if (r.url().includes('/assets/')) assets.push(`${new URL(r.url()).pathname} ${r.status()}`);
      });
      await page.goto(`${g.httpUrl}/login`);
      await logIn(page);
      await page.waitForURL(`${g.httpUrl}/`);
      await page.getByRole('button', { name: 'r-101' }).click();
      await expect
        .poll(() => page.locator('#detail-summary').innerText(), { timeout: 10_000 })
        .toMatch(/^\d+ five-minute buckets$/);
      await page.locator('#chart canvas').waitFor();
      expect(await page.locator('#chart .u-legend').innerText()).toMatch(
        /CO2 \(ppm\)[\s\S]*Temperature \(°C\)/,
      );
      expect(assets.sort()).toEqual(['/assets/uplot.css 200', '/assets/uplot.js 200']);
      await page.locator('#room-detail').screenshot({ path: join(SCREENSHOTS, 'status-room-chart.png') });
      await page.getByRole('button', { name: 'Close' }).click();
      expect(await page.locator('#room-detail').isHidden()).toBe(true);
    } finally {
      await context.close();
      await g.stop();
    }
  });

  it('shows a hub outage as it happens: offline banner, a growing backlog, then the drain to zero', async () => {
    const hub = await startTestHub();
    const g = await startTestGateway(uplinkConfig(hub));
    const context = await browser.newContext();
    const devices = ['env-1', 'env-2', 'env-3', 'env-4'];
    const send = (n: number) =>
      publishReadings(g.mqttUrl, {
        devices,
        n,
        start: Date.now(),
        spacingMs: 5,
        readings: (i) => ({ co2: 500 + (i % 50) }),
      });
    const backlog = async () => Number((await page.locator('#backlog').innerText()).replace(/\D/g, ''));
    const page = await context.newPage();
    try {
      await page.goto(`${g.httpUrl}/login`);
      await logIn(page);
      await page.waitForURL(`${g.httpUrl}/`);
      await send(40);
      await expect.poll(() => page.locator('#uplink').innerText(), { timeout: 10_000 }).toBe('connected');
      await expect.poll(backlog, { timeout: 10_000 }).toBe(0);
      expect(await page.locator('#offline').isHidden()).toBe(true);

      await hub.stop({ keepData: true });
      await send(200);
      await expect.poll(() => page.locator('#offline').isVisible(), { timeout: 10_000 }).toBe(true);
      expect(await page.locator('#offline').innerText()).toMatch(/data is safe on this gateway/);
      await expect.poll(backlog, { timeout: 10_000 }).toBeGreaterThan(0);
      const before = await backlog();
      await send(200);
      await expect.poll(backlog, { timeout: 10_000 }).toBeGreaterThan(before);
      await page.screenshot({ path: join(SCREENSHOTS, 'status-outage.png'), fullPage: true });

      await hub.restart!();
      await expect.poll(backlog, { timeout: 20_000 }).toBe(0);
      await expect.poll(() => page.locator('#offline').isHidden(), { timeout: 10_000 }).toBe(true);
      expect(await page.locator('#uplink').innerText()).toBe('connected');
    } finally {
      await context.close();
      await g.stop();
      await hub.stop();
    }
  });

  it('passes the axe-core WCAG 2 A/AA checks (contrast, labels, names) on desktop and phone', async () => {
    const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
    // bypassCSP: axe is injected by the test; the page itself allows only its own hashed script.
    const context = await browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 900 } });
    try {
      const page = await context.newPage();
      const audit = async () => {
        await page.evaluate(axeSource);
        const result = (await page.evaluate(
          "axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })",
        )) as { violations: { id: string; help: string; nodes: { target: string[] }[] }[] };
        return result.violations.map(
          (v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`,
        );
      };
      await page.goto(`${t.httpUrl}/login`);
      expect(await audit()).toEqual([]);
      await logIn(page);
      await page.waitForURL(`${t.httpUrl}/`);
      await page.locator('#rooms tr[data-room]').first().waitFor();
      await page.locator('#quiet button').first().click();
      await page.locator('#device-detail').waitFor();
      expect(await audit()).toEqual([]);
      await page.setViewportSize({ width: 390, height: 844 });
      expect(await audit()).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('shows the dev-mode banner', async () => {
    const page = await browser.newPage();
    await page.goto(`${dev.httpUrl}/`);
    await expect.poll(() => page.locator('#banner').isVisible()).toBe(true);
    expect(await page.locator('#banner').innerText()).toMatch(/anonymous/);
    await page.close();
  });
});
