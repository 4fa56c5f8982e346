// Drives the web UI in headless Chromium (Debian's, through playwright-core) as a new user
// would: sign in, create a Segment key, send the seed's group call with it, find the org in
// Org Management. Saves a screenshot of each page in SHOTS and prints one JSON report.
const { chromium } = require('playwright-core');
const path = require('path');

const { BASE, SETUP, TENANT, EMAIL, PASSWORD, SHOTS } = process.env;
const report = { pages: [] };
// The seed's Segment group call.
const SEED = {
  type: 'group', groupId: 'ws_abc123', userId: 'user_789',
  traits: { name: 'Acme Corp Workspace', plan: 'pro_annual', plan_name: 'Pro Annual', employees: 47, mrr: 49900, trial_status: 'converted' },
  timestamp: '2026-01-15T10:30:00.000Z', messageId: 'seg-msg-abc123',
};

async function shot(page, name) {
  const file = path.join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  report.pages.push({ name, file, title: await page.title() });
}

(async () => {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'] });
  const context = await browser.newContext();
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE });
  const page = await context.newPage();
  // The pages' Content-Security-Policy blocks anything inline: what it blocked, and any
  // script error, fails the run (a blocked script leaves the page working without it).
  const blocked = [];
  page.on('console', (m) => { if (/Content.Security.Policy/i.test(m.text())) blocked.push(m.text()); });
  page.on('pageerror', (e) => blocked.push(String(e)));
  try {
    // A new user's first visit: the setup link serve printed creates them and signs them in.
    await page.goto(SETUP);
    await shot(page, '00-setup');
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel(/^Password \(at least/).fill(PASSWORD);
    await page.getByLabel('Password again').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create user and sign in' }).click();
    // Signed in, the overview: on a new store, the steps to the first update.
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    report.firstSteps = await page.locator('#first-steps').count();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.goto(`${BASE}/`);
    await shot(page, '01-sign-in');
    // A wrong password first: the form says so and nothing else happens.
    await page.getByLabel('Tenant').fill(TENANT);
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    report.wrongPassword = await page.getByRole('alert').innerText();
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await shot(page, '01b-overview');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API Keys', exact: true }).click();
    await page.getByRole('heading', { name: 'API Keys' }).waitFor();
    await shot(page, '02-api-keys');

    // Choosing another endpoint type redraws the fields for it at once (JavaScript present),
    // and no button for it is shown; choosing the first type again brings its fields back.
    await page.getByLabel('Endpoint type').selectOption('signal-staging');
    await page.getByLabel('leadId', { exact: true }).waitFor({ timeout: 10000 });
    report.signalFields = await page.locator('#template input[name^="path."]').evaluateAll((inputs) => inputs.map((i) => i.name));
    report.showFieldsButtons = await page.getByRole('button', { name: "Show this type's fields" }).count();
    await shot(page, '02b-signal-fields');
    await page.getByLabel('Endpoint type').selectOption('product-org-updates');
    await page.getByLabel('userCount', { exact: true }).waitFor({ timeout: 10000 });

    // The template builder, from the Segment preset, with one path mistyped.
    await page.getByLabel('Name', { exact: true }).fill('Segment production');
    await page.getByLabel('Endpoint type').selectOption('product-org-updates');
    await page.getByLabel('Start from a preset').selectOption('segment');
    await page.getByRole('button', { name: 'Fill the template from the preset' }).click();
    await page.getByLabel('userCount', { exact: true }).fill('traits.employes');
    await page.getByLabel('Sample payload').fill(JSON.stringify(SEED));
    await page.getByRole('button', { name: 'Preview' }).click();
    await page.getByRole('heading', { name: 'Preview' }).waitFor();
    report.preview = await page.locator('#preview').innerText();
    await shot(page, '03-template-preview');
    // Fixing the path updates the preview as it is typed (JavaScript present).
    await page.getByLabel('userCount', { exact: true }).fill('traits.employees');
    await page.waitForFunction(() => !document.getElementById('preview').innerText.includes('Did you mean'), null, { timeout: 10000 });
    report.previewFixed = await page.locator('#preview').innerText();
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.getByRole('heading', { name: 'Key created' }).waitFor();
    report.apiKey = await page.getByRole('textbox', { name: 'API key' }).inputValue();
    report.webhookUrl = await page.getByRole('textbox', { name: 'Webhook URL' }).inputValue();
    report.copyButtons = await page.getByRole('button', { name: /^Copy/ }).count();
    await page.getByRole('button', { name: 'Copy API key' }).click();
    report.copied = await page.evaluate(() => navigator.clipboard.readText());
    await shot(page, '04-key-created');

    // The seed's Segment group call, sent to the URL the page showed.
    const sent = await fetch(report.webhookUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(SEED),
    });
    report.webhookStatus = sent.status;
    // A payload without the id: refused, and the delivery log says why.
    const bad = await fetch(report.webhookUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ type: 'group', traits: { name: 'No id' } }),
    });
    report.badStatus = bad.status;

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API Keys', exact: true }).click();
    report.keyListed = await page.getByRole('cell', { name: 'Segment production', exact: true }).count();
    await page.getByRole('link', { name: 'Deliveries of Segment production' }).click();
    await page.getByRole('heading', { name: 'Deliveries of Segment production' }).waitFor();
    report.deliveries = await page.locator('tbody').innerText();
    await shot(page, '05-deliveries');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Org Management', exact: true }).click();
    await page.getByRole('heading', { name: 'Org Management' }).waitFor();
    await shot(page, '06-org-management');
    await page.getByRole('link', { name: 'Acme Corp Workspace', exact: true }).click();
    await page.getByRole('heading', { name: 'Acme Corp Workspace' }).waitFor();
    report.targetOrgText = await page.locator('main').innerText();
    await shot(page, '07-target-org');
    await page.getByRole('link', { name: '“ws_abc123”', exact: true }).click();
    await page.getByRole('heading', { name: 'ws_abc123' }).waitFor();
    report.productOrgText = await page.locator('main').innerText();
    await shot(page, '08-product-org');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.goto(`${BASE}/settings/api-keys`);
    report.afterSignOut = new URL(page.url()).pathname;
    if (blocked.length) throw new Error(`blocked by the policy or failed: ${blocked.join('\n')}`);
  } catch (e) {
    report.error = String(e && e.stack || e);
    await shot(page, '99-failure').catch(() => {});
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(report));
})();
