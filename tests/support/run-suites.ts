/**
 * `npm test`'s suites: the whole suite on SQLite, then the integration suite again with every
 * test server on PostgreSQL (`PULSE_TEST_DB=postgres`, a fresh schema per server). Under
 * `CI=true` a PostgreSQL that does not answer fails the run; elsewhere that pass is skipped with
 * a message. Ends with one line, `N passed, N failed, N skipped`, over both passes.
 *
 *   node --import tsx tests/support/run-suites.ts
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dropStaleSchemas, POSTGRES_URL, postgresAnswers } from './database.ts';
import type { Summary } from './summary-reporter.ts';

const dir = mkdtempSync(join(tmpdir(), 'pulse-suites-'));

/** Runs vitest with `args` and `env`; what its summary reporter counted (null: it did not report). */
function vitest(
  args: string[],
  env: Record<string, string>,
  name: string,
): Promise<Summary | null> {
  const file = join(dir, `${name}.json`);
  return new Promise((resolve, reject) => {
    const child = spawn('npx', ['vitest', 'run', ...args], {
      stdio: 'inherit',
      env: { ...process.env, ...env, PULSE_SUMMARY_FILE: file },
    });
    child.once('error', reject);
    child.once('exit', () => {
      try {
        resolve(JSON.parse(readFileSync(file, 'utf8')) as Summary);
      } catch {
        resolve(null);
      }
    });
  });
}

const line = (s: Summary) => `${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped`;
const total: Summary = { passed: 0, failed: 0, skipped: 0 };
const add = (s: Summary | null) => {
  // A run that reported nothing (it could not start) counts as a failure.
  const counted = s ?? { passed: 0, failed: 1, skipped: 0 };
  total.passed += counted.passed;
  total.failed += counted.failed;
  total.skipped += counted.skipped;
  return counted;
};

try {
  const sqlite = add(await vitest([], {}, 'sqlite'));
  let postgres: string;
  if (await postgresAnswers()) {
    const stale = await dropStaleSchemas();
    console.log(
      `\nThe integration suite again, on PostgreSQL (${POSTGRES_URL}${stale > 0 ? `; dropped ${stale} schemas left by earlier runs` : ''}):\n`,
    );
    postgres = line(
      add(await vitest(['tests/integration'], { PULSE_TEST_DB: 'postgres' }, 'postgres')),
    );
  } else if (process.env['CI'] === 'true') {
    postgres = `FAILED: PostgreSQL at ${POSTGRES_URL} does not answer (CI=true)`;
    total.failed += 1;
  } else {
    postgres = `skipped: PostgreSQL at ${POSTGRES_URL} does not answer`;
  }
  console.log(`\nSQLite, every suite: ${line(sqlite)}`);
  console.log(`PostgreSQL, integration suite: ${postgres}`);
  console.log(`\n${line(total)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exitCode = total.failed > 0 ? 1 : 0;
