import { TRPCError } from '@trpc/server';

/**
 * Whether JSON text nests arrays and objects more than `max` levels deep, by one pass that
 * counts brackets outside strings (callers pass the text they already hold: no copy). `JSON.parse`
 * builds every level before any schema can refuse it: a 100,000-level array in a 200 KB body held
 * the event loop 25–45 ms, a 400,000-level one in a 1 MiB WebSocket frame ~100 ms. Bytes that
 * are not JSON pass; parsing refuses them as before.
 */
export function jsonDeeperThan(json: string, max: number): boolean {
  let depth = 0;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (c === 0x22) {
      // To the closing quote: the next one not escaped by an odd run of backslashes.
      for (;;) {
        i = json.indexOf('"', i + 1);
        if (i === -1) return false;
        let backslashes = 0;
        while (json.charCodeAt(i - 1 - backslashes) === 0x5c) backslashes++;
        if (backslashes % 2 === 0) break;
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}

/** The refusal of JSON nested past `PULSE_MAX_JSON_DEPTH`. */
export const tooDeep = (max: number): TRPCError =>
  new TRPCError({
    code: 'BAD_REQUEST',
    message: `JSON may nest arrays and objects at most ${max} levels deep`,
  });
