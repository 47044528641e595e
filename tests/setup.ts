import { afterEach, vi } from 'vitest';

// An unexpected console.error fails the test that logged it.
const errors: unknown[][] = [];
const original = console.error;
console.error = (...args: unknown[]) => {
  errors.push(args);
  original(...args);
};
afterEach(() => {
  const logged = errors.splice(0);
  vi.restoreAllMocks();
  if (logged.length > 0) {
    throw new Error(
      `console.error was called: ${logged.map((a) => a.map(String).join(' ')).join('\n')}`,
    );
  }
});
