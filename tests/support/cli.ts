import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TokenScope } from '../../src/shared/schemas/auth.ts';
import { eventually } from './live.ts';
import type { TestServer } from './server.ts';

/** Helpers that run the real `pulse` CLI (src/cli/pulse.ts) as a child process. */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'src/cli/pulse.ts');

const cleanups: (() => void)[] = [];

/** Kills CLIs still running and removes temporary homes; call it from `afterEach`. */
export function cleanupCli(): void {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
}

/** A fresh $HOME and $XDG_CONFIG_HOME, removed after the test. */
export function tempHome(): string {
  const home = mkdtempSync(join(tmpdir(), 'pulse-cli-home-'));
  cleanups.push(() => rmSync(home, { recursive: true, force: true }));
  return home;
}

export const credentialsFile = (home: string) => join(home, 'config', 'pulse', 'credentials.json');

/** The CLI's environment: this server, an isolated config dir, and nothing inherited from ours. */
export function cliEnv(
  t: TestServer,
  opts: { home?: string; token?: string; env?: Record<string, string> } = {},
) {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env))
    if (!key.startsWith('PULSE_')) env[key] = value;
  const home = opts.home ?? tempHome();
  return {
    ...env,
    HOME: home,
    XDG_CONFIG_HOME: join(home, 'config'),
    PULSE_URL: t.url,
    ...(opts.token ? { PULSE_TOKEN: opts.token } : {}),
    ...opts.env,
  };
}

/** A running `pulse …` with its output so far. */
export class Cli {
  stdout = '';
  stderr = '';
  exitCode: number | null = null;
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  /** With `stdin: true`, the CLI's stdin is a pipe fed by `write` and closed by `end`. */
  constructor(args: string[], env: NodeJS.ProcessEnv, opts: { stdin?: boolean } = {}) {
    this.child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
      cwd: ROOT,
      env,
      stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (this.stdout += chunk));
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    // A CLI that exits before reading all its input must not fail the test with EPIPE.
    this.child.stdin?.on('error', () => undefined);
    this.exited = new Promise((resolve) =>
      this.child.once('close', (code) => {
        this.exitCode = code;
        resolve(code);
      }),
    );
    const child = this.child;
    cleanups.push(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
  }

  get lines(): string[] {
    return this.stdout.split('\n').filter(Boolean);
  }

  /** Writes to the CLI's stdin (started with `stdin: true`). */
  write(text: string): void {
    if (!this.child.stdin) throw new Error('pulse was started without a stdin pipe');
    this.child.stdin.write(text);
  }

  /** Closes the CLI's stdin: end of input. */
  end(): void {
    this.child.stdin?.end();
  }

  async waitFor(check: (cli: Cli) => boolean, what: string, ms = 15_000): Promise<void> {
    await eventually(() => check(this) || this.exitCode !== null, ms, what);
    if (!check(this)) {
      throw new Error(
        `pulse exited (${this.exitCode}) before ${what}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`,
      );
    }
  }

  /** Ctrl-C, then the exit code. */
  async interrupt(): Promise<number | null> {
    this.child.kill('SIGINT');
    return this.exited;
  }
}

/** Runs `pulse …` to the end (feeding it `input` on stdin, if given). */
export async function pulse(args: string[], env: NodeJS.ProcessEnv, input?: string) {
  const cli = new Cli(args, env, { stdin: input !== undefined });
  if (input !== undefined) {
    cli.write(input);
    cli.end();
  }
  const code = await cli.exited;
  return { code, stdout: cli.stdout, stderr: cli.stderr };
}

/** An API token for `username`, made through the typed client. */
export async function tokenFor(
  t: TestServer,
  username: string,
  scopes: TokenScope[] = ['read', 'write'],
) {
  const client = await t.client({ username });
  return (await client.auth.createToken.mutate({ name: 'test', scopes })).token;
}

/** How many times a tail has said it is connected. */
export const connections = (cli: Cli) =>
  cli.stderr.split('\n').filter((line) => line === 'connected').length;
