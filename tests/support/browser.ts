import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { MEMBER_PASSWORD, type TeamSpec } from './people.ts';
import { startTestServer, type TestServer } from './server.ts';

export const CHROMIUM_PATH = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM_PATH);

/**
 * `describe` for suites that drive Chromium. Without Chromium the suite is skipped, saying so,
 * except under `CI=true`, where a missing browser is a failure, not a skip.
 */
export function describeInBrowser(name: string, suite: () => void): void {
  if (hasChromium) {
    describe(name, suite);
  } else if (process.env['CI'] === 'true') {
    describe(name, () => {
      it('has Chromium to run in', () => {
        throw new Error(`No Chromium at ${CHROMIUM_PATH}: install it (apt-get install chromium)`);
      });
    });
  } else {
    console.warn(
      `Skipping browser suite "${name}": no Chromium at ${CHROMIUM_PATH} (apt-get install chromium; under CI=true this fails instead)`,
    );
    describe.skip(
      `${name} [skipped: no Chromium at ${CHROMIUM_PATH}; apt-get install chromium]`,
      suite,
    );
  }
}

function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
    ],
  });
}

/** A server on port 0 with a fresh database, `teams`, and the web app built by globalSetup. */
function startWebServer(
  teams: readonly TeamSpec[],
  env: Record<string, string> = {},
): Promise<TestServer> {
  const dir = inject('webAppDir');
  if (!dir) throw new Error(`The web app did not build: ${inject('webAppError')}`);
  return startTestServer({ PULSE_STATIC_DIR: dir, ...env }, { teams });
}

/** A browser context already signed in as `username` (the session cookie, as a login sets it). */
async function signedInContext(
  browser: Browser,
  t: TestServer,
  username: string,
): Promise<BrowserContext> {
  const context = await browser.newContext();
  const cookie = await t.login(username);
  const at = cookie.indexOf('=');
  await context.addCookies([
    {
      name: cookie.slice(0, at),
      value: cookie.slice(at + 1),
      url: t.url,
      httpOnly: true,
      sameSite: 'Lax',
    },
  ]);
  return context;
}

export interface PageOptions {
  /** Console errors the page may log: lines starting with one of these (see `refusedSocket`). */
  expected?: readonly string[];
}

export interface TabOptions extends PageOptions {
  /** Runs in every page of the context before the app's own scripts. */
  initScript?: () => void;
}

/** A browser context (one person's browser) and its first page. */
export interface Tab {
  context: BrowserContext;
  page: Page;
}

/**
 * One test's world: a server with the web app on a fresh database, and the browser contexts
 * the test opens on it. Every page it opens has its errors watched (`check()`); disposing it
 * closes the contexts, then the server.
 */
export interface WebApp extends AsyncDisposable {
  t: TestServer;
  /** A context signed in as `username` (`null`: signed out) with one page, at `about:blank`. */
  open(username: string | null, opts?: TabOptions): Promise<Tab>;
  /** Another page of a context, its errors watched too. */
  newPage(context: BrowserContext, opts?: PageOptions): Promise<Page>;
  /** Fails the test if any page reported an error (see `watchErrors`). */
  check(): void;
}

/**
 * The browser suites' one fixture: call it inside `describeInBrowser`. It launches Chromium
 * once for the file; each test starts its own world with `await using app = await web.start()`,
 * whose database holds the admin and the file's `teams` (made through the API).
 */
export function webAppFixture(opts: { teams?: readonly TeamSpec[] } = {}): {
  /** `env`: the server's configuration beyond the defaults (an allowed origin, say). */
  start(startOpts?: { env?: Record<string, string> }): Promise<WebApp>;
} {
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });
  return {
    async start(startOpts = {}) {
      if (!browser) throw new Error('webAppFixture: Chromium did not start');
      const b = browser;
      const t = await startWebServer(opts.teams ?? [], startOpts.env);
      const contexts: BrowserContext[] = [];
      const watchers: { check(): void }[] = [];
      const newPage = async (context: BrowserContext, opts: PageOptions = {}) => {
        const page = await context.newPage();
        watchers.push(watchErrors(page, opts));
        return page;
      };
      return {
        t,
        newPage,
        async open(username, opts = {}) {
          const context =
            username === null ? await b.newContext() : await signedInContext(b, t, username);
          contexts.push(context);
          if (opts.initScript) await context.addInitScript(opts.initScript);
          return { context, page: await newPage(context, opts) };
        },
        check() {
          for (const watcher of watchers) watcher.check();
        },
        async [Symbol.asyncDispose]() {
          await Promise.all(contexts.map((context) => context.close()));
          await t[Symbol.asyncDispose]();
        },
      };
    },
  };
}

/**
 * Fails the test on what the page itself reports as broken: uncaught exceptions and
 * `console.error`. Chromium's own "Failed to load resource" lines are not the app's
 * (a 401 from `auth.me` on the sign-in page is expected), nor are the lines starting with one
 * of `expected` (see `refusedSocket`).
 */
function watchErrors(page: Page, opts: { expected?: readonly string[] } = {}): { check(): void } {
  const errors: string[] = [];
  const expected = ['Failed to load resource', ...(opts.expected ?? [])];
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
  page.on('console', (message) => {
    const text = message.text();
    if (message.type() === 'error' && !expected.some((prefix) => text.startsWith(prefix))) {
      errors.push(`console.error: ${text}`);
    }
  });
  return {
    check() {
      if (errors.length > 0) throw new Error(`The page reported errors:\n${errors.join('\n')}`);
    },
  };
}

/**
 * What Chromium itself logs as a console error for each WebSocket the server refuses while it
 * is down (the app reconnects on its own): expected in tests that stop the server.
 */
export function refusedSocket(origin: string): string {
  return `WebSocket connection to '${origin.replace(/^http/, 'ws')}/trpc' failed`;
}

/** Signs in through the form. */
export async function signIn(
  page: Page,
  username: string,
  password = MEMBER_PASSWORD,
): Promise<void> {
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
}

const DEFAULT_WAIT_MS = 10_000;

/** Waits until the element's text content is `text`; on timeout says what it was instead. */
export async function waitForText(
  page: Page,
  selector: string,
  text: string,
  timeout = DEFAULT_WAIT_MS,
) {
  try {
    await page.waitForFunction(
      ([sel, want]) => document.querySelector(sel)?.textContent?.trim() === want,
      [selector, text] as const,
      { timeout },
    );
  } catch (error) {
    const actual = await page
      .locator(selector)
      .first()
      .textContent({ timeout: 100 })
      .catch(() => null);
    throw new Error(`${selector}: wanted "${text}", have ${JSON.stringify(actual)}`, {
      cause: error,
    });
  }
}

/** Waits until an attribute of the element has `value`. */
export async function waitForAttribute(
  page: Page,
  selector: string,
  attribute: string,
  value: string,
  timeout = DEFAULT_WAIT_MS,
) {
  try {
    await page.waitForFunction(
      ([sel, attr, want]) => document.querySelector(sel)?.getAttribute(attr) === want,
      [selector, attribute, value] as const,
      { timeout },
    );
  } catch (error) {
    const actual = await page
      .locator(selector)
      .first()
      .getAttribute(attribute, { timeout: 100 })
      .catch(() => null);
    throw new Error(
      `${selector}[${attribute}]: wanted "${value}", have ${JSON.stringify(actual)}`,
      {
        cause: error,
      },
    );
  }
}

/** The app shell is up with the live stream connected: what a user sees once signed in. */
export async function waitForLive(page: Page, timeout = DEFAULT_WAIT_MS) {
  await waitForAttribute(page, '[data-testid=link-sse]', 'data-state', 'connected', timeout);
}

/** A notification with this title is in the inbox. */
export function inboxItem(page: Page, title: string) {
  return page.locator('[data-testid=inbox] [data-testid=notification-item]', { hasText: title });
}

const CHAT_PANEL = '[data-testid=chat-panel]';

/** The texts of the open chat room's messages as shown, top to bottom (pending ones included). */
export const shownChatTexts = (page: Page): Promise<string[]> =>
  page.$$eval(`${CHAT_PANEL} [data-testid=chat-message-text]`, (els) =>
    els.map((el) => el.textContent ?? ''),
  );

/**
 * Waits until the open chat room shows exactly `want`, every one confirmed by the server, and
 * nothing else: no pending copy of a message the server confirmed.
 */
export async function waitForChatTexts(
  page: Page,
  want: readonly string[],
  timeout = 20_000,
): Promise<void> {
  try {
    await page.waitForFunction(
      ([sel, expected]) =>
        JSON.stringify([...document.querySelectorAll(sel)].map((el) => el.textContent ?? '')) ===
        expected,
      [
        `${CHAT_PANEL} [data-testid=chat-message][data-status=sent] [data-testid=chat-message-text]`,
        JSON.stringify(want),
      ] as const,
      { timeout },
    );
  } catch (error) {
    throw new Error(
      `wanted ${JSON.stringify(want)}, have ${JSON.stringify(await shownChatTexts(page))}`,
      { cause: error },
    );
  }
  expect(await shownChatTexts(page)).toEqual(want);
}

/** The id of the team room of alice's team (the browser suites' team: one room each). */
export async function opsRoomId(t: TestServer): Promise<string> {
  const alice = await t.client({ username: 'alice' });
  const room = (await alice.chat.rooms.query()).find((r) => r.kind === 'team');
  if (!room) throw new Error('no team room');
  return room.id;
}
