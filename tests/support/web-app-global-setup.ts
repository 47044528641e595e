import {
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import type { TestProject } from 'vitest/node';
import { hashInputs } from './build-inputs.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The built web app, for `PULSE_STATIC_DIR`; empty when the build failed. */
    webAppDir: string;
    /** Why the build failed, for the browser suites to report; empty when it worked. */
    webAppError: string;
  }
}

const root = fileURLToPath(new URL('../..', import.meta.url));
/** What the bundle is made of (the explorer's chunk holds api/): a change to any of it means a new build. */
const INPUTS = ['api', 'src/client', 'src/shared', 'vite.config.ts', 'package-lock.json'];
const cacheRoot = join(root, 'node_modules', '.cache', 'pulse-web-app');

const inputsHash = () => hashInputs(root, INPUTS);

/**
 * Builds the web app once per run with Vite's `build()` (skipped when the inputs have not
 * changed since the last run: the output is cached by their hash) and provides its directory
 * to the browser suites. A failed build does not fail unrelated suites: the browser suites
 * report it.
 */
export async function setup(project: TestProject) {
  try {
    const dir = join(cacheRoot, inputsHash());
    if (!existsSync(join(dir, 'index.html'))) {
      mkdirSync(cacheRoot, { recursive: true });
      const staging = `${dir}.${process.pid}.tmp`;
      await build({
        configFile: join(root, 'vite.config.ts'),
        root: join(root, 'src/client'),
        logLevel: 'error',
        build: { outDir: staging, emptyOutDir: true, sourcemap: false },
      });
      // Another run may have finished the same build meanwhile; either copy is right.
      if (existsSync(dir)) rmSync(staging, { recursive: true, force: true });
      else renameSync(staging, dir);
    }
    // Other builds go once unused for an hour: a run of another checkout may be serving one now.
    utimesSync(dir, new Date(), new Date());
    const stale = Date.now() - 3_600_000;
    for (const old of readdirSync(cacheRoot)) {
      const path = join(cacheRoot, old);
      if (path !== dir && statSync(path).mtimeMs < stale)
        rmSync(path, { recursive: true, force: true });
    }
    project.provide('webAppDir', dir);
    project.provide('webAppError', '');
  } catch (error) {
    project.provide('webAppDir', '');
    project.provide('webAppError', error instanceof Error ? error.message : String(error));
  }
}
