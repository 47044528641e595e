/**
 * The API contract's commands, run from the repository:
 *
 *   npm run api:check      the router against api/contract.json and docs/api.md; exits 1 on any difference
 *   npm run api:snapshot   records additive and documentation changes (refuses breaking ones)
 *   npm run api:accept     records breaking changes too, once api/CHANGELOG.md has a section for
 *                          the next major version naming each changed procedure; bumps the major
 *
 * `-- --root <dir>` reads and writes those files (and package.json) under another directory.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { ApiContract } from '../../src/shared/api-contract.ts';
import { compareContracts, formatDifference, type Difference } from './compare.ts';
import { pulseContract } from './contract.ts';
import { renderReference } from './reference.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { root: { type: 'string', default: REPO } },
});
const command = positionals[0];
if (command !== 'check' && command !== 'snapshot' && command !== 'accept') {
  console.error('usage: node --import tsx scripts/api/cli.ts check|snapshot|accept [--root <dir>]');
  process.exit(2);
}

const root = values.root;
const path = {
  contract: join(root, 'api/contract.json'),
  changelog: join(root, 'api/CHANGELOG.md'),
  reference: join(root, 'docs/api.md'),
  packageJson: join(root, 'package.json'),
  packageLock: join(root, 'package-lock.json'),
  versionModule: join(root, 'src/shared/version.ts'),
};
const shown = (file: string) => relative(root, file);
const read = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : null);

/** The API version is the package's version, which `system.health` reports. */
const version = (JSON.parse(readFileSync(path.packageJson, 'utf8')) as { version: string }).version;
const current = await pulseContract(version);
const snapshotText = read(path.contract);
const snapshot = snapshotText === null ? null : (JSON.parse(snapshotText) as ApiContract);
const differences = compareContracts(snapshot ?? { apiVersion: version, procedures: [] }, current);
const breaking = differences.filter((d) => d.impact === 'breaking');
const nextMajor = `${Number(version.split('.')[0]) + 1}.0.0`;

const contractText = (contract: ApiContract) => `${JSON.stringify(contract, null, 2)}\n`;

function write(contract: ApiContract): void {
  mkdirSync(dirname(path.contract), { recursive: true });
  mkdirSync(dirname(path.reference), { recursive: true });
  writeFileSync(path.contract, contractText(contract));
  writeFileSync(path.reference, renderReference(contract));
}

function list(items: Difference[]): void {
  for (const d of items) console.log(`  ${formatDifference(d).replaceAll('\n', '\n  ')}`);
}

const acceptHint = () =>
  `If they are meant, add a section "## ${nextMajor}" to ${shown(path.changelog)} naming each procedure they change and what callers must do, then run \`npm run api:accept\` (API version ${version} → ${nextMajor}). Otherwise change the router back.`;

switch (command) {
  case 'check': {
    const problems: string[] = [];
    if (snapshot === null) problems.push(`${shown(path.contract)} is missing.`);
    else if (snapshot.apiVersion !== version) {
      problems.push(
        `${shown(path.contract)} is at API version ${snapshot.apiVersion}, ${shown(path.packageJson)} at ${version}.`,
      );
    }
    if (differences.length > 0) {
      problems.push(
        `${differences.length} differences between the router and ${shown(path.contract)}:`,
      );
    } else if (snapshotText !== contractText(current)) {
      problems.push(`${shown(path.contract)} is not as \`npm run api:snapshot\` writes it.`);
    }
    if (read(path.reference) !== renderReference(current)) {
      problems.push(`${shown(path.reference)} does not match the router.`);
    }
    if (problems.length === 0) {
      console.log(
        `API contract: the router matches ${shown(path.contract)} and ${shown(path.reference)} (API version ${version}, ${current.procedures.length} procedures).`,
      );
      break;
    }
    console.log(`API contract:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    list(differences);
    console.log(
      breaking.length > 0
        ? `\n${breaking.length} of them break clients. ${acceptHint()}`
        : `\nNone breaks a client. Run \`npm run api:snapshot\` to record the router as it is now, and commit ${shown(path.contract)} and ${shown(path.reference)}.`,
    );
    process.exitCode = 1;
    break;
  }
  case 'snapshot': {
    if (breaking.length > 0) {
      console.log(`API contract: ${breaking.length} changes break clients:`);
      list(breaking);
      console.log(`\n\`npm run api:snapshot\` records only what breaks nobody. ${acceptHint()}`);
      process.exitCode = 1;
      break;
    }
    write(current);
    console.log(
      `API contract: wrote ${shown(path.contract)} and ${shown(path.reference)} (API version ${version}), ${differences.length} differences:`,
    );
    list(differences);
    break;
  }
  case 'accept': {
    if (breaking.length === 0) {
      write(current);
      console.log(
        `API contract: nothing breaking to accept; wrote ${shown(path.contract)} and ${shown(path.reference)} with ${differences.length} differences.`,
      );
      list(differences);
      break;
    }
    const section = changelogSection(read(path.changelog) ?? '', nextMajor);
    const unnamed = [...new Set(breaking.map((d) => d.procedure))].filter(
      (p) => !section?.includes(p),
    );
    if (section === null || unnamed.length > 0) {
      console.log(`API contract: ${breaking.length} changes break clients:`);
      list(breaking);
      console.log(
        section === null
          ? `\n${shown(path.changelog)} has no section "## ${nextMajor}". ${acceptHint()}`
          : `\nThe section "## ${nextMajor}" of ${shown(path.changelog)} does not name ${unnamed.join(', ')}.`,
      );
      process.exitCode = 1;
      break;
    }
    setPackageVersion(nextMajor);
    write({ ...current, apiVersion: nextMajor });
    console.log(
      `API contract: accepted ${breaking.length} breaking changes; API version ${version} → ${nextMajor} (${shown(path.packageJson)}), wrote ${shown(path.contract)} and ${shown(path.reference)}.`,
    );
    list(differences);
    break;
  }
}

/** The text of a changelog's `## <version>` section, up to the next one; null if it has none. */
function changelogSection(changelog: string, version: string): string | null {
  const lines = changelog.split('\n');
  const start = lines.findIndex((l) => l === `## ${version}` || l.startsWith(`## ${version} `));
  if (start < 0) return null;
  const end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

/**
 * Sets the package's version (and its lockfile's, as `npm version` writes them), and
 * `API_VERSION` in src/shared/version.ts, the copy the server, the web app and the SDK read.
 */
function setPackageVersion(next: string): void {
  const pkg = JSON.parse(readFileSync(path.packageJson, 'utf8')) as { version: string };
  writeFileSync(path.packageJson, `${JSON.stringify({ ...pkg, version: next }, null, 2)}\n`);
  const versionModule = read(path.versionModule);
  if (versionModule !== null) {
    const updated = versionModule.replace(
      /^export const API_VERSION = '[^']*';$/m,
      `export const API_VERSION = '${next}';`,
    );
    if (updated === versionModule) throw new Error(`${shown(path.versionModule)}: no API_VERSION`);
    writeFileSync(path.versionModule, updated);
  }
  const lockText = read(path.packageLock);
  if (lockText === null) return;
  const lock = JSON.parse(lockText) as {
    version: string;
    packages?: Record<string, { version?: string }>;
  };
  lock.version = next;
  const self = lock.packages?.[''];
  if (self) self.version = next;
  writeFileSync(path.packageLock, `${JSON.stringify(lock, null, 2)}\n`);
}
