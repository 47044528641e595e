import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { ApiContract, JsonSchema } from '../../src/shared/api-contract.ts';

/**
 * `npm run api:check`, `api:snapshot` and `api:accept` as a developer runs them, on a copy of
 * the committed snapshot, reference, changelog and package.json (`--root`) that differs from
 * the router as a change to the router would.
 */

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

/** A copy of the repository's contract files, with the snapshot changed by `edit`. */
function copyOfContract(edit: (contract: ApiContract) => void): string {
  const root = mkdtempSync(join(tmpdir(), 'pulse-api-'));
  roots.push(root);
  for (const file of [
    'package.json',
    'src/shared/version.ts',
    'api/contract.json',
    'api/CHANGELOG.md',
    'docs/api.md',
  ]) {
    cpSync(join(REPO, file), join(root, file));
  }
  const contract = readJson<ApiContract>(root, 'api/contract.json');
  edit(contract);
  writeFileSync(join(root, 'api/contract.json'), JSON.stringify(contract, null, 2));
  return root;
}

const readJson = <T>(root: string, file: string) =>
  JSON.parse(readFileSync(join(root, file), 'utf8')) as T;

function run(command: 'check' | 'snapshot' | 'accept', root: string) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(REPO, 'scripts/api/cli.ts'), command, '--root', root],
    { cwd: REPO },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

// Each command builds the router in a process of its own (a second or two on a busy machine).
describe('the api commands', { timeout: 60_000 }, () => {
  it('fail on a field the router no longer sends, naming procedure, field and clients, until the change is accepted with a changelog entry', async () => {
    // The snapshot promises `system.health` answers a `region`; the router does not send it.
    const root = copyOfContract((contract) => {
      const health = contract.procedures.find((p) => p.path === 'system.health');
      const output = health?.output as JsonSchema & { properties: object; required: string[] };
      output.properties = { ...output.properties, region: { type: 'string' } };
      output.required.push('region');
    });

    const check = await run('check', root);
    expect(check.code).toBe(1);
    expect(check.output).toContain('BREAKING  system.health output.region: field removed');
    expect(check.output).toMatch(
      /output\.region: field removed\n\s+Existing clients \(programs, and web app tabs loaded before the upgrade\) read a field it no longer sends\./,
    );
    expect(check.output).toContain('add a section "## 1.0.0" to api/CHANGELOG.md');

    // Recording it as if it broke nobody is refused; so is accepting it without an entry.
    expect(await run('snapshot', root)).toMatchObject({ code: 1 });
    const unexplained = await run('accept', root);
    expect(unexplained.code).toBe(1);
    expect(unexplained.output).toContain('api/CHANGELOG.md has no section "## 1.0.0"');
    const changelog = join(root, 'api/CHANGELOG.md');
    writeFileSync(changelog, `${readFileSync(changelog, 'utf8')}\n## 1.0.0\n\n- Region dropped.\n`);
    const unnamed = await run('accept', root);
    expect(unnamed.code).toBe(1);
    expect(unnamed.output).toContain('does not name system.health');

    writeFileSync(
      changelog,
      `${readFileSync(changelog, 'utf8')}- \`system.health\` no longer answers \`region\`.\n`,
    );
    const accepted = await run('accept', root);
    expect(accepted.output).toContain('API version 0.1.0 → 1.0.0');
    expect(accepted.code).toBe(0);
    expect(readJson<{ version: string }>(root, 'package.json').version).toBe('1.0.0');
    expect(readFileSync(join(root, 'src/shared/version.ts'), 'utf8')).toContain(
      "export const API_VERSION = '1.0.0';",
    );
    const snapshot = readJson<ApiContract>(root, 'api/contract.json');
    expect(snapshot.apiVersion).toBe('1.0.0');
    expect(readFileSync(join(root, 'docs/api.md'), 'utf8')).toContain('API version **1.0.0**');
    expect(await run('check', root)).toMatchObject({ code: 0 });
  });

  it('fail on an addition until the snapshot is taken, saying it breaks nobody', async () => {
    const root = copyOfContract((contract) => {
      contract.procedures = contract.procedures.filter((p) => p.path !== 'chat.members');
    });
    const check = await run('check', root);
    expect(check.code).toBe(1);
    expect(check.output).toMatch(
      /additive {2}chat\.members: procedure added\n\s+During a rolling deploy, a new web app or program calling an instance not yet upgraded gets NOT_FOUND from it\./,
    );
    expect(check.output).toContain('None breaks a client. Run `npm run api:snapshot`');

    expect(await run('snapshot', root)).toMatchObject({ code: 0 });
    expect(readJson<{ version: string }>(root, 'package.json').version).toBe('0.1.0');
    expect(await run('check', root)).toMatchObject({ code: 0 });

    // The reference must match the router too.
    writeFileSync(join(root, 'docs/api.md'), '# Edited by hand\n');
    const stale = await run('check', root);
    expect(stale.code).toBe(1);
    expect(stale.output).toContain('docs/api.md does not match the router.');
  });
});
