import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { TRPCError } from '@trpc/server';

const KEY_LEN = 32;

/** scrypt's cost parameters; stored with every hash so that they can be raised later. */
interface ScryptParams {
  logN: number;
  r: number;
  p: number;
}

/** OWASP's password storage guidance for scrypt: N = 2^17, r = 8, p = 1 (128 MiB per hash). */
const BLOCK_SIZE = 8;
const PARALLELISM = 1;

function scryptAsync(
  password: string,
  salt: Buffer,
  { logN, r, p }: ScryptParams,
): Promise<Buffer> {
  const N = 2 ** logN;
  return new Promise((resolve, reject) => {
    // maxmem must exceed 128 * N * r * p bytes.
    scrypt(password, salt, KEY_LEN, { N, r, p, maxmem: 256 * N * r * p }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

/**
 * Reads `scrypt$ln=17,r=8,p=1$salt$key`, and the older `scrypt$15$salt$key` (r = 8, p = 1).
 * Null for anything else, which then verifies as false.
 */
function parseHash(stored: string): { params: ScryptParams; salt: Buffer; key: Buffer } | null {
  const [kind, spec, salt, key] = stored.split('$');
  if (kind !== 'scrypt' || !spec || !salt || !key) return null;
  let params: ScryptParams;
  if (/^\d+$/.test(spec)) params = { logN: Number(spec), r: 8, p: 1 };
  else {
    const fields: Record<string, string> = Object.fromEntries(
      spec.split(',').map((kv): [string, string] => {
        const [k = '', v = ''] = kv.split('=');
        return [k, v];
      }),
    );
    params = { logN: Number(fields['ln']), r: Number(fields['r']), p: Number(fields['p']) };
  }
  const sane = (n: number, max: number) => Number.isInteger(n) && n >= 1 && n <= max;
  if (!sane(params.logN, 22) || !sane(params.r, 32) || !sane(params.p, 16)) return null;
  return { params, salt: Buffer.from(salt, 'base64url'), key: Buffer.from(key, 'base64url') };
}

export interface PasswordHasher {
  /** A new hash at the configured cost. */
  hash(password: string): Promise<string>;
  /**
   * Checks a password; `rehash` is true when the stored hash is weaker than the configured
   * cost (or in an older format), so the caller can store a fresh one.
   */
  verify(password: string, stored: string): Promise<{ ok: boolean; rehash: boolean }>;
  /** A hash of nothing, at the configured cost, to verify against when a username is unknown. */
  decoy(): Promise<string>;
}

/**
 * scrypt on libuv's thread pool, at most `concurrency` at once with at most `queue` waiting:
 * each hash takes ~128 MiB and a few hundred ms, so a flood of sign-ins is answered
 * TOO_MANY_REQUESTS rather than exhausting memory or delaying every other request.
 */
export function createPasswordHasher(opts: {
  logN: number;
  concurrency: number;
  queue: number;
}): PasswordHasher {
  const params: ScryptParams = { logN: opts.logN, r: BLOCK_SIZE, p: PARALLELISM };
  let running = 0;
  const waiting: (() => void)[] = [];

  async function withSlot<T>(work: () => Promise<T>): Promise<T> {
    if (running >= opts.concurrency) {
      if (waiting.length >= opts.queue) {
        throw new TRPCError({
          code: 'TOO_MANY_REQUESTS',
          message: 'Too many sign-ins at once; try again shortly',
        });
      }
      await new Promise<void>((resolve) => waiting.push(resolve));
    } else running++;
    try {
      return await work();
    } finally {
      // Hand the slot straight to the next in line, or give it back.
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  }

  async function hash(password: string): Promise<string> {
    const salt = randomBytes(16);
    const key = await withSlot(() => scryptAsync(password, salt, params));
    const spec = `ln=${params.logN},r=${params.r},p=${params.p}`;
    return `scrypt$${spec}$${salt.toString('base64url')}$${key.toString('base64url')}`;
  }

  let decoy: Promise<string> | null = null;

  return {
    hash,
    async verify(password, stored) {
      const parsed = parseHash(stored);
      if (!parsed) return { ok: false, rehash: false };
      const actual = await withSlot(() => scryptAsync(password, parsed.salt, parsed.params));
      const ok = actual.length === parsed.key.length && timingSafeEqual(actual, parsed.key);
      const weaker =
        parsed.params.logN < params.logN ||
        parsed.params.r !== params.r ||
        parsed.params.p !== params.p;
      return { ok, rehash: ok && (weaker || !stored.startsWith('scrypt$ln=')) };
    },
    decoy() {
      decoy ??= hash('not-a-password').catch((error: unknown) => {
        decoy = null;
        throw error;
      });
      return decoy;
    },
  };
}

/** A bearer secret for sessions and API tokens; only its SHA-256 is stored. */
export function newSecret(prefix: string): string {
  return `${prefix}${randomBytes(32).toString('base64url')}`;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}

/** One hash outside a server (benchmark and test seeds). */
export function hashPassword(password: string, logN: number): Promise<string> {
  return createPasswordHasher({ logN, concurrency: 1, queue: Number.POSITIVE_INFINITY }).hash(
    password,
  );
}
