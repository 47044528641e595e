/**
 * The README's screenshots: every page of the web app at laptop and phone size, as a new user
 * sees it a minute after `npm start` (the living demo, sped up so that its first incident has
 * opened), signed in as alice.
 *
 *   npm run -s build && node --import tsx scripts/screenshots.ts [--out docs/screenshots]
 *
 * Needs Chromium at /usr/bin/chromium. Starts the compiled server on a free port with a fresh
 * database in a temporary directory, and stops it when done.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from 'playwright-core';

const root = fileURLToPath(new URL('..', import.meta.url));
const outIndex = process.argv.indexOf('--out');
const out = resolve(root, outIndex > 0 ? (process.argv[outIndex + 1] ?? '') : 'docs/screenshots');

const SIZES = [
  { name: 'laptop', width: 1280, height: 800 },
  { name: 'phone', width: 390, height: 844 },
] as const;

const dir = mkdtempSync(join(tmpdir(), 'pulse-screenshots-'));
const server = spawn(process.execPath, [join(root, 'dist/server/index.js')], {
  env: {
    ...process.env,
    NODE_ENV: 'production',
    PORT: '0',
    DATABASE_URL: `sqlite:${join(dir, 'pulse.db')}`,
    PULSE_DEMO: '1',
    PULSE_DEMO_SPEED: '5',
    PULSE_ADMIN_PASSWORD: 'screenshots-admin',
  },
  stdio: ['ignore', 'pipe', 'inherit'],
});

/** Resolves with the server's URL once it says it listens. */
const url = await new Promise<string>((resolveUrl, reject) => {
  let seen = '';
  server.stdout.on('data', (chunk: Buffer) => {
    seen += chunk.toString();
    const found = /listening on (http:\/\/\S+)/.exec(seen);
    if (found?.[1]) resolveUrl(found[1]);
  });
  server.once('exit', (code) => reject(new Error(`the server exited (${code}) before listening`)));
});

async function shoot(page: Page, name: string) {
  await page.screenshot({ path: join(out, `${name}.png`) });
  console.log(`${name}.png`);
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
  ],
});
try {
  mkdirSync(out, { recursive: true });
  const context = await browser.newContext({ colorScheme: 'light' });
  const page = await context.newPage();
  await page.goto(url);
  await page.fill('input[name=username]', 'alice');
  await page.fill('input[name=password]', 'pulse');
  await page.click('button[type=submit]');
  await page.locator('[data-testid=user-name]').waitFor();
  // The demo's first incident opens a few seconds in at this speed, and notifies the team.
  await page
    .locator('[data-testid=incident-card]')
    .first()
    .waitFor({ timeout: 60_000 })
    .catch(() => undefined);
  for (const size of SIZES) {
    await page.setViewportSize(size);
    for (const [name, path] of [
      ['inbox', '/'],
      ['dashboard', '/dashboard'],
      ['incidents', '/incidents'],
      ['chat', null],
    ] as const) {
      if (path === null) {
        // The team's room, with the demo's history.
        await page.goto(`${url}/chat`);
        await page.locator('.chat-rooms__link').first().click();
        await page.locator('[data-testid=chat-message]').first().waitFor();
      } else {
        await page.goto(url + path);
      }
      await page.locator('main').first().waitFor();
      // Charts and lists fill in from their streams (a screenshot, not a test: time is fine).
      await page.waitForTimeout(2500);
      await shoot(page, `${name}-${size.name}`);
    }
  }
} finally {
  await browser.close();
  server.kill('SIGTERM');
  await new Promise((done) => server.once('exit', done));
  rmSync(dir, { recursive: true, force: true });
}
