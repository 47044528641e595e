import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * A procedure marked `@deprecated` in a JSDoc comment on its router key reaches clients through
 * tRPC's types, and so does a field of a schema marked so: TypeScript reports each use as
 * deprecated (editors strike it through). Checked with the language service editors use, on
 * `fixtures/deprecations.ts`.
 */

const FIXTURE = fileURLToPath(new URL('./fixtures/deprecations.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function languageService(file: string): ts.LanguageService {
  const config = ts.readConfigFile(`${ROOT}/tsconfig.json`, (f) => ts.sys.readFile(f));
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
  return ts.createLanguageService({
    getScriptFileNames: () => [file],
    getScriptVersion: () => '1',
    getScriptSnapshot: (f) => {
      const text = ts.sys.readFile(f);
      return text === undefined ? undefined : ts.ScriptSnapshot.fromString(text);
    },
    getCurrentDirectory: () => dirname(file),
    getCompilationSettings: () => options,
    getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
    fileExists: (f) => ts.sys.fileExists(f),
    readFile: (f) => ts.sys.readFile(f),
  });
}

describe('deprecations in the typed client', () => {
  it('are reported where a client calls a deprecated procedure or reads a deprecated field, and nowhere else', () => {
    const lines = readFileSync(FIXTURE, 'utf8').split('\n');
    const service = languageService(FIXTURE);
    const program = service.getProgram();
    const source = program?.getSourceFile(FIXTURE);
    if (!source) throw new Error(`TypeScript did not load ${FIXTURE}`);
    // The fixture compiles: a deprecation is a hint, not an error.
    expect(program?.getSemanticDiagnostics(source).map((d) => d.messageText)).toEqual([]);
    const reported = service
      .getSuggestionDiagnostics(FIXTURE)
      .filter((d) => d.reportsDeprecated)
      .map((d) => ({
        line: lines[source.getLineAndCharacterOfPosition(d.start).line]?.trim(),
        message: ts.flattenDiagnosticMessageText(d.messageText, ' '),
      }));
    expect(reported).toEqual([
      { line: 'client.stats.old.query(), // deprecated', message: "'old' is deprecated." },
      { line: 'history.before, // deprecated', message: "'before' is deprecated." },
    ]);
    expect(lines.filter((l) => l.endsWith('// deprecated'))).toHaveLength(reported.length);
  });
});
