/**
 * `npm run build:client-package [-- --out DIR]`: the typed SDK as the package `@pulse/client`,
 * packed into a tarball that another TypeScript project installs (`npm install <tarball>`).
 *
 * Compiles src/sdk with declarations (tsconfig.client-package.json) into DIR/package (default
 * dist/client-package), writes its package.json from this repository's (the version, and the
 * dependencies the SDK imports in its code or its types, at the versions Pulse uses), then packs
 * it with `npm pack` into DIR and prints the tarball's path.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runCommand } from './run-command.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Where each of the package's entry points is, in its own folder. */
const ENTRY_POINTS = { '.': 'client', './pages': 'pages', './api-version': 'api-version' };
/** What the SDK imports at run time. */
const DEPENDENCIES = ['eventsource', 'ws'];
/**
 * What the SDK and its users share: tRPC's client and server (the links, errors and types a
 * program uses alongside), and zod (the type of the validation issues in errors).
 */
const PEER_DEPENDENCIES = ['@trpc/client', '@trpc/server', 'zod'];

interface PackageJson {
  version: string;
  engines?: Record<string, string>;
  dependencies: Record<string, string>;
}

function pick(from: Record<string, string>, names: readonly string[]): Record<string, string> {
  return Object.fromEntries(
    names.map((name) => {
      const version = from[name];
      if (!version) throw new Error(`package.json does not depend on ${name}`);
      return [name, version];
    }),
  );
}

function packageJson(root: PackageJson) {
  return {
    name: '@pulse/client',
    version: root.version,
    description: 'The typed client of Pulse for Node programs',
    type: 'module',
    exports: Object.fromEntries(
      Object.entries(ENTRY_POINTS).map(([path, module]) => [
        path,
        { types: `./sdk/${module}.d.ts`, import: `./sdk/${module}.js` },
      ]),
    ),
    // The server's modules, which tsc also writes, stay out.
    files: ['sdk', 'shared'],
    engines: root.engines,
    dependencies: pick(root.dependencies, DEPENDENCIES),
    peerDependencies: pick(root.dependencies, PEER_DEPENDENCIES),
  };
}

const { values } = parseArgs({
  options: { out: { type: 'string', default: join(ROOT, 'dist', 'client-package') } },
  strict: true,
});
const out = resolve(values.out);
const dir = join(out, 'package');
rmSync(dir, { recursive: true, force: true });
const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
// `npm run typecheck` checks the SDK with everything else; this only emits.
const build = ['-p', 'tsconfig.client-package.json', '--noCheck', '--outDir', dir];
await runCommand(process.execPath, [tsc, ...build], ROOT);
const root = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;
writeFileSync(join(dir, 'package.json'), `${JSON.stringify(packageJson(root), null, 2)}\n`);
const packed = JSON.parse(
  await runCommand('npm', ['pack', dir, '--pack-destination', out, '--json', '--offline'], ROOT),
) as { filename: string }[];
console.log(join(out, packed[0]?.filename ?? ''));
