import { writeFileSync } from 'node:fs';
import type { Reporter, TestModule } from 'vitest/node';

export interface Summary {
  passed: number;
  failed: number;
  skipped: number;
}

/**
 * Ends the run with one plain line, `N passed, N failed, N skipped`, that any CI can read; with
 * `PULSE_SUMMARY_FILE` set it also writes the counts there as JSON (`npm test` adds up its two
 * passes from them).
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const summary: Summary = { passed: 0, failed: 0, skipped: 0 };
    for (const module of modules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') summary.passed++;
        else if (state === 'failed') summary.failed++;
        else summary.skipped++;
      }
      if (module.state() === 'failed' && [...module.children.allTests()].length === 0)
        summary.failed++;
    }
    process.stdout.write(
      `\n${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped\n`,
    );
    const file = process.env['PULSE_SUMMARY_FILE'];
    if (file) writeFileSync(file, JSON.stringify(summary));
  }
}
