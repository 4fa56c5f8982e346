// Drives a key's page in headless Chromium (Debian's, through playwright-core) through the
// integrator's loop: a key whose productOrgId path is mistyped has refused three group calls;
// sign in, open the key, open a refused delivery, fix the path in the builder, test it against
// the recent deliveries, save it, replay the refused ones (confirmed), and find the org in Org
// Management. Saves a screenshot of each step in SHOTS (1280 px wide, and the key page and a
// delivery at 390 px) and prints one JSON report.
const { chromium } = require('playwright-core');
const path = require('path');

const { BASE, TENANT, EMAIL, PASSWORD, KEY_NAME, SHOTS } = process.env;
const report = { pages: [], narrow: [] };

async function shot(page, name) {
  // From the top: a page opened at an anchor leaves parts above it unpainted in the capture.
  await page.evaluate(() => window.scrollTo(0, 0));
  const file = path.join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  report.pages.push({ name, file, title: await page.title() });
}

// How wide the page is drawn: wider than the window means a sideways scroll of the page.
async function narrowShot(page, name) {
  await shot(page, name);
  const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  report.narrow.push({ name, scrollWidth });
}

(async () => {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  // The pages' Content-Security-Policy blocks anything inline: what it blocked, and any
  // script error, fails the run (a blocked script leaves the page working without it).
  const blocked = [];
  page.on('console', (m) => { if (/Content.Security.Policy/i.test(m.text())) blocked.push(m.text()); });
  page.on('pageerror', (e) => blocked.push(String(e)));
  try {
    await page.goto(`${BASE}/login`);
    await page.getByLabel('Tenant').fill(TENANT);
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API Keys', exact: true }).click();
    await page.getByRole('heading', { name: 'API Keys' }).waitFor();

    // 1. See: the key's page, its template and the refusals in its log.
    await page.getByRole('link', { name: KEY_NAME, exact: true }).click();
    await page.getByRole('heading', { name: KEY_NAME, exact: true }).waitFor();
    report.keyPage = await page.locator('#template').innerText();
    await shot(page, '01-key-page');

    // 2. Understand: one refused delivery, its payload and what the template makes of it.
    await page.locator('#log a[href*="/deliveries/"]').first().click();
    await page.getByRole('heading', { name: /^Delivery #/ }).waitFor();
    report.detail = await page.locator('main').innerText();
    await shot(page, '02-delivery');
    await page.setViewportSize({ width: 390, height: 844 });
    await narrowShot(page, '02n-delivery-390');
    await page.setViewportSize({ width: 1280, height: 900 });
    // Back up the breadcrumb trail to the key.
    await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link', { name: KEY_NAME, exact: true }).click();
    await page.getByRole('heading', { name: KEY_NAME, exact: true }).waitFor();
    await page.setViewportSize({ width: 390, height: 844 });
    await narrowShot(page, '01n-key-page-390');
    await page.setViewportSize({ width: 1280, height: 900 });

    // 3. Fix: the path in the builder, tested against the recent deliveries, then saved.
    await page.getByLabel('productOrgId', { exact: true }).fill('groupId');
    await page.getByRole('button', { name: 'Test against recent deliveries' }).click();
    await page.locator('#test-summary').waitFor();
    report.testSummary = await page.locator('#test-summary').innerText();
    await shot(page, '03-test');
    await page.getByRole('button', { name: 'Save as new version' }).click();
    await page.getByText(/Saved as version/).waitFor();
    report.saved = await page.locator('#template').innerText();
    await shot(page, '04-saved');

    // 4. Recover: replay what was refused, after the confirmation.
    await page.getByRole('button', { name: 'Replay refused deliveries' }).click();
    await page.getByRole('heading', { name: 'Replay deliveries' }).waitFor();
    report.confirm = await page.locator('main').innerText();
    await shot(page, '05-replay-confirm');
    await page.getByRole('button', { name: 'Replay', exact: true }).click();
    await page.getByRole('heading', { name: 'Replayed' }).waitFor();
    report.replayed = await page.locator('#replayed').innerText();
    await shot(page, '06-replayed');

    // The org, in Org Management.
    // An id is drawn in quotes, so that surrounding spaces show.
    await page.locator('#replayed').getByRole('link', { name: '“ws_abc123”', exact: true }).click();
    await page.getByRole('heading', { name: 'ws_abc123' }).waitFor();
    report.org = await page.locator('main').innerText();
    await shot(page, '07-product-org');
    if (blocked.length) throw new Error(`blocked by the policy or failed: ${blocked.join('\n')}`);
  } catch (e) {
    report.error = String(e && e.stack || e);
    await shot(page, '99-failure').catch(() => {});
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(report));
})();
