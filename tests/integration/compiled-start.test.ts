import { readFileSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';
import { compiledServer } from '../support/compiled-server.ts';
import { startServerProcess } from '../support/server-process.ts';

describe('the compiled server (npm start)', () => {
  it('runs with plain node from its build: health, version, the web app, the sign-in line', async () => {
    const entry = await compiledServer();
    expect(entry).toMatch(/server\/index\.js$/);
    const webAppDir = inject('webAppDir');
    await using server = await startServerProcess(
      webAppDir ? { PULSE_STATIC_DIR: webAppDir } : {},
      { entry },
    );
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    // The version comes from package.json, found relative to the compiled code.
    const info = await fetch(`${server.url}/trpc/system.health`);
    expect(await info.json()).toMatchObject({ result: { data: { version: '0.1.0' } } });
    if (webAppDir) {
      const page = await fetch(`${server.url}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<div id="root">');
    }
    expect(server.output()).toMatch(/Created user admin/);
    // No TypeScript at run time: the process is node and the compiled file, nothing else.
    const cmdline = readFileSync(`/proc/${server.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    expect(cmdline).toEqual([process.execPath, entry]);
  });
});
