import { spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashInputs } from './build-inputs.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
/** What the compiled server is made of: a change to any of it means a new build. */
const INPUTS = [
  'src/server',
  'src/shared',
  'tsconfig.json',
  'tsconfig.server.json',
  'package.json',
];
const cacheRoot = join(root, 'node_modules', '.cache', 'pulse-server');

const inputsHash = () => hashInputs(root, INPUTS);

let building: Promise<string> | null = null;

/**
 * The server compiled as `npm run build:server` compiles it (tsconfig.server.json), for tests
 * that run it with plain `node`: built once per change of its inputs, into a cache directory
 * keyed by their hash, laid out as the repository is (`<dir>/dist/server/index.js`,
 * `<dir>/dist/shared/…`, and a copy of package.json, whose `"type": "module"` makes Node load
 * the compiled files as ES modules), so runs and files share one build. Resolves with
 * the path of `index.js`.
 */
export function compiledServer(): Promise<string> {
  building ??= (async () => {
    const dir = join(cacheRoot, inputsHash());
    const entry = join(dir, 'dist', 'server', 'index.js');
    if (existsSync(entry)) return entry;
    mkdirSync(cacheRoot, { recursive: true });
    const staging = `${dir}.${process.pid}.tmp`;
    rmSync(staging, { recursive: true, force: true });
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const args = [
      tsc,
      '-p',
      'tsconfig.server.json',
      '--noCheck',
      '--outDir',
      join(staging, 'dist'),
    ];
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
      child.once('error', reject);
      child.once('exit', (code) =>
        code === 0 ? resolve(text) : reject(new Error(`tsc failed (${code}):\n${text}`)),
      );
    });
    if (!existsSync(join(staging, 'dist', 'server', 'index.js'))) {
      throw new Error(`tsc wrote no server/index.js:\n${output}`);
    }
    copyFileSync(join(root, 'package.json'), join(staging, 'package.json'));
    // Another run may have finished the same build meanwhile; either copy is right.
    if (existsSync(entry)) rmSync(staging, { recursive: true, force: true });
    else {
      rmSync(dir, { recursive: true, force: true });
      renameSync(staging, dir);
    }
    // Builds of other inputs go once unused for an hour.
    const stale = Date.now() - 3_600_000;
    for (const old of readdirSync(cacheRoot)) {
      const path = join(cacheRoot, old);
      if (path !== dir && !old.endsWith('.tmp') && statSync(path).mtimeMs < stale)
        rmSync(path, { recursive: true, force: true });
    }
    return entry;
  })();
  building.catch(() => (building = null));
  return building;
}
