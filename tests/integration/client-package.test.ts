import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../scripts/run-command.ts';
import { API_VERSION } from '../../src/shared/version.ts';
import { startTestServer } from '../support/server.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const BUILD_MS = 240_000;

/**
 * A program that uses Pulse's client as another TypeScript project would, from the package
 * alone. Its types are checked by compiling it (`Equal` fails to compile when a type is wrong
 * or `any`; `@ts-expect-error` fails when the wrong call compiles); run, it asks the server
 * given as its argument for `system.health` and prints what it got.
 */
const CONSUMER = `
import { createPulseClient, type PulseRouter } from '@pulse/client';
import { checkServerVersion, PULSE_API_RANGE } from '@pulse/client/api-version';
import { allPages } from '@pulse/client/pages';
import type { inferRouterOutputs } from '@trpc/server';

type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Outputs = inferRouterOutputs<PulseRouter>;

const client = createPulseClient({ url: process.argv[2] ?? '' });

export async function wrongCalls() {
  // @ts-expect-error: auth.login needs a password
  await client.auth.login.mutate({ username: 'alice' });
  // @ts-expect-error: severity is one of info, warning, critical
  await client.notifications.send.mutate({ to: { all: true }, title: 'x', severity: 'loud' });
  // @ts-expect-error: there is no such procedure
  await client.system.uptime.query();
}

export const allRooms = () => allPages((page) => client.chat.rooms.query(page));
const roomsTyped: Equal<Awaited<ReturnType<typeof allRooms>>, Outputs['chat']['rooms']> = true;

const health = await client.system.health.query();
const healthTyped: Equal<typeof health, { status: 'ok'; version: string; uptimeS: number }> =
  true;
const sameAsRouter: Equal<Outputs['system']['health'], typeof health> = true;

console.log(
  JSON.stringify({
    health,
    checked: await checkServerVersion(client),
    range: PULSE_API_RANGE,
    typed: roomsTyped && healthTyped && sameAsRouter,
  }),
);
`;

const CONSUMER_TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    // As most projects do: tRPC's own declarations do not check without it. The package's
    // declarations are held to naming only what it depends on below.
    skipLibCheck: true,
    types: ['node'],
    rootDir: 'src',
    outDir: 'dist',
  },
  include: ['src'],
};

interface InstalledPackage {
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

/** The modules a declaration file imports: `from '…'`, `import('…')`, `import '…'`. */
function importsOf(declarations: string): string[] {
  const found = declarations.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"]([^'"]+)['"]/g);
  return [...found].map((match) => match[1] ?? '');
}

/** `@scope/name/sub` → `@scope/name`; `name/sub` → `name`. */
const packageName = (specifier: string) =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');

describe('the client package (npm run build:client-package)', () => {
  let dir: string;
  let project: string;
  let installed: string;
  let manifest: InstalledPackage;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pulse-client-package-'));
    project = join(dir, 'consumer');
    installed = join(project, 'node_modules', '@pulse', 'client');
    const tarball = (
      await runCommand(
        process.execPath,
        ['--import', 'tsx', 'scripts/build-client-package.ts', '--out', join(dir, 'build')],
        ROOT,
      )
    ).trim();
    expect(tarball).toMatch(/pulse-client-\d+\.\d+\.\d+\.tgz$/);

    // Installed as npm would, offline: the tarball unpacked into node_modules, and next to it
    // the packages it declares (and @types/node, which a Node project has), linked from here.
    mkdirSync(dirname(installed), { recursive: true });
    await runCommand('tar', ['-xzf', tarball, '-C', dirname(installed)], dir);
    renameSync(join(dirname(installed), 'package'), installed);
    manifest = JSON.parse(
      readFileSync(join(installed, 'package.json'), 'utf8'),
    ) as InstalledPackage;
    const provided = [
      ...Object.keys(manifest.dependencies),
      ...Object.keys(manifest.peerDependencies),
      '@types/node',
    ];
    for (const name of provided) {
      const link = join(project, 'node_modules', name);
      mkdirSync(dirname(link), { recursive: true });
      symlinkSync(realpathSync(join(ROOT, 'node_modules', name)), link);
    }
    mkdirSync(join(project, 'src'));
    writeFileSync(join(project, 'src', 'main.ts'), CONSUMER);
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify(CONSUMER_TSCONFIG));
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
    );
  }, BUILD_MS);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('holds the SDK and what it imports, not the server, and declares what its types name', () => {
    const files = filesUnder(installed).map((file) => relative(installed, file));
    expect(files).toContain('sdk/client.js');
    expect(files).toContain('sdk/client.d.ts');
    expect(files.filter((file) => !/^(sdk|shared)\/|^package\.json$/.test(file))).toEqual([]);

    const declared = new Set([
      ...Object.keys(manifest.dependencies),
      ...Object.keys(manifest.peerDependencies),
    ]);
    expect(declared).toEqual(new Set(['@trpc/client', '@trpc/server', 'zod', 'eventsource', 'ws']));
    for (const file of files.filter((name) => name.endsWith('.d.ts'))) {
      for (const specifier of importsOf(readFileSync(join(installed, file), 'utf8'))) {
        if (specifier.startsWith('.')) {
          const target = join(dirname(file), specifier).replace(/\.(ts|js)$/, '.d.ts');
          expect(files, `${file} imports ${specifier}`).toContain(target);
        } else {
          expect(declared, `${file} imports ${specifier}`).toContain(packageName(specifier));
        }
      }
    }
  });

  it(
    'types every procedure for a project that installs it, and calls a real server',
    async () => {
      await runCommand(process.execPath, [TSC, '-p', project], project);

      await using t = await startTestServer();
      const output = await runCommand(
        process.execPath,
        [join(project, 'dist', 'main.js'), t.url],
        project,
      );
      expect(JSON.parse(output)).toEqual({
        health: { status: 'ok', version: API_VERSION, uptimeS: expect.any(Number) as number },
        checked: API_VERSION,
        range: `^${API_VERSION}`,
        typed: true,
      });
    },
    BUILD_MS,
  );
});
