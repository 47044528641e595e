/**
 * About 1 s doubling to a 30 s cap (`attempt` counts from 1). Half of each delay is random
 * ("equal jitter") so that every browser cut off by one server restart does not come back in
 * the same instant.
 */
export function backoffDelayMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(30_000, 1000 * 2 ** (Math.max(1, attempt) - 1));
  return base / 2 + random() * (base / 2);
}
