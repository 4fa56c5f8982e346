// Visits every page of the web UI in headless Chromium (Debian's, through playwright-core) at
// 1280 and 390 px wide, signed in: for each, whether the page is wider than the window, what
// axe-core (@axe-core/playwright) finds at the serious and critical levels, and a screenshot
// in SHOTS named after the page and the width. Then the keyboard alone: sign in and open a
// page without the mouse. Prints one JSON report.
//
// First, signed out, the setup link SETUP (then used to create the user EMAIL) and sign-in;
// then, signed in, PAGES (a JSON list of {name, path}) and the page of a key just created.
// BASE, TENANT, PASSWORD and SHOTS as named.
const { chromium } = require('playwright-core');
const { default: AxeBuilder } = require('@axe-core/playwright');
const path = require('path');

const { BASE, SETUP, TENANT, EMAIL, PASSWORD, SHOTS } = process.env;
const PAGES = JSON.parse(process.env.PAGES);
const WIDTHS = [1280, 390];
const report = { pages: [] };

async function signIn(page) {
  await page.goto(`${BASE}/login`);
  await page.getByLabel('Tenant').fill(TENANT);
  await page.getByLabel('Email').fill(EMAIL);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => url.pathname !== '/login');
}

// Checks the page `page` shows now, as `name`.
async function check(page, name, at, status, width) {
  const sizes = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    // The widest elements reaching past the window, to say what overflows.
    past: [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
      .slice(0, 5)
      .map((e) => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}${e.className && typeof e.className === 'string' ? '.' + e.className.split(' ').join('.') : ''} right=${Math.round(e.getBoundingClientRect().right)}`),
  }));
  const axe = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const violations = axe.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  const file = path.join(SHOTS, `${name}-${width}.png`);
  await page.screenshot({ path: file, fullPage: true });
  report.pages.push({
    name, path: at, width, status, title: await page.title(),
    hasNav: await page.locator('header nav').count() > 0,
    ...sizes, violations, file,
  });
}

async function visit(page, { name, path: at }, width) {
  const response = await page.goto(at.startsWith('http') ? at : `${BASE}${at}`);
  await check(page, name, at, response.status(), width);
}

// The new key form, filled with a name only, and the page that shows the key once.
async function createKey(page, width) {
  await page.goto(`${BASE}/settings/api-keys`);
  await page.getByLabel('Name', { exact: true }).fill(`Phone key ${width}`);
  await page.getByRole('button', { name: 'Create key' }).click();
  await page.getByRole('heading', { name: 'Key created' }).waitFor();
  await check(page, 'key-created', '/settings/api-keys (POST)', 200, width);
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update'],
  });
  const errors = [];
  const open = async (width) => {
    const context = await browser.newContext({ viewport: { width, height: 900 } });
    const page = await context.newPage();
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => { if (/Content.Security.Policy/i.test(m.text())) errors.push(m.text()); });
    return [context, page];
  };
  try {
    for (const width of WIDTHS) {
      const [context, page] = await open(width);
      await visit(page, { name: 'setup', path: SETUP }, width);
      await visit(page, { name: 'sign-in', path: '/login' }, width);
      await context.close();
    }
    const [setupContext, setupPage] = await open(1280);
    await setupPage.goto(SETUP);
    await setupPage.getByLabel('Email').fill(EMAIL);
    await setupPage.getByLabel(/^Password \(at least/).fill(PASSWORD);
    await setupPage.getByLabel('Password again').fill(PASSWORD);
    await setupPage.getByRole('button', { name: 'Create user and sign in' }).click();
    await setupPage.waitForURL((url) => !url.pathname.startsWith('/setup'));
    await setupContext.close();
    for (const width of WIDTHS) {
      const [context, page] = await open(width);
      await signIn(page);
      for (const one of PAGES) await visit(page, one, width);
      await createKey(page, width);
      await context.close();
    }
    // The keyboard alone: Tab to each field of the sign-in form, type, Enter; then Tab to the
    // first link of the navigation and Enter.
    const context = await browser.newContext({ viewport: { width: 390, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${BASE}/login`);
    const focusOn = async (label) => {
      for (let i = 0; i < 30; i += 1) {
        await page.keyboard.press('Tab');
        const at = await page.evaluate(() => {
          const e = document.activeElement;
          return e && e.labels && e.labels[0] ? e.labels[0].textContent.trim() : (e && e.textContent.trim());
        });
        if (at === label) return true;
      }
      return false;
    };
    const keyboard = {};
    keyboard.tenant = await focusOn('Tenant');
    await page.keyboard.type(TENANT);
    keyboard.email = await focusOn('Email');
    await page.keyboard.type(EMAIL);
    keyboard.password = await focusOn('Password');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    await page.waitForURL((url) => url.pathname !== '/login');
    keyboard.signedInAt = new URL(page.url()).pathname;
    keyboard.link = await focusOn('Org Management');
    await page.keyboard.press('Enter');
    await page.waitForURL((url) => url.pathname === '/settings/orgs');
    keyboard.openedAt = new URL(page.url()).pathname;
    report.keyboard = keyboard;
    await context.close();
    if (errors.length) throw new Error(`blocked by the policy or failed: ${errors.join('\n')}`);
  } catch (e) {
    report.error = String((e && e.stack) || e);
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(report));
})();
