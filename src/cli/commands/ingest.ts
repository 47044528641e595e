import { addAbortSignal } from 'node:stream';
import { INGEST_BATCH_MAX } from '../../shared/limits.ts';
import { pointInputSchema, type PointInput } from '../../shared/schemas/metrics.ts';
import { defineCommand } from '../command.ts';
import { UsageError } from '../errors.ts';
import { plural } from '../format.ts';

export const INGEST_BATCH_DEFAULT = 1000;
/** A partial batch is sent once its oldest line has waited this long. */
export const INGEST_FLUSH_MS = 1000;
/** Longer lines cannot be valid (a series name is at most 100 characters) and are not buffered. */
const LINE_MAX = 1024;

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** A point from its text fields, checked with the shared schema; or why it is not one. */
export function parsePoint(
  series: string,
  value: string,
  ts?: string,
): { point: PointInput } | { error: string } {
  if (!NUMBER.test(value) || !Number.isFinite(Number(value))) {
    return { error: `value '${value}' is not a finite number` };
  }
  if (ts !== undefined && !/^\d+$/.test(ts)) {
    return { error: `timestamp '${ts}' is not a whole number of milliseconds since the epoch` };
  }
  const parsed = pointInputSchema.safeParse({
    series,
    value: Number(value),
    ...(ts !== undefined ? { ts: Number(ts) } : {}),
  });
  if (parsed.success) return { point: parsed.data };
  const issue = parsed.error.issues[0];
  const path = issue?.path.map(String).join('.') ?? '';
  const message = issue?.message ?? 'invalid point';
  return { error: !path || message.startsWith(`${path}:`) ? message : `${path}: ${message}` };
}

/** One input line: a point, why it is not one, or null for blank lines and `#` comments. */
export function parseLine(line: string): { point: PointInput } | { error: string } | null {
  const text = line.trim();
  if (text === '' || text.startsWith('#')) return null;
  const fields = text.split(/\s+/);
  if (fields.length < 2 || fields.length > 3) {
    return { error: `expected 'series value [ts]', got ${plural(fields.length, 'field')}` };
  }
  const [series = '', value = '', ts] = fields;
  return parsePoint(series, value, ts);
}

export interface IngestLinesOptions {
  /** The text, in chunks that may split lines anywhere. */
  input: AsyncIterable<string>;
  batchSize: number;
  flushAfterMs: number;
  /** Sends one batch; resolves to how many points the server accepted. */
  send(points: PointInput[]): Promise<number>;
  onBadLine(lineNumber: number, reason: string): void;
  /** Ends reading early (Ctrl-C); what was read is still sent. */
  signal?: AbortSignal | undefined;
}

export interface IngestLinesResult {
  accepted: number;
  bad: number;
  /** The first failed send; reading stopped there. */
  failure: unknown;
  /** Lines read (for reporting where a failure stopped it). */
  lines: number;
}

/**
 * Reads `series value [ts]` lines and sends them in batches of `batchSize`, one batch at a
 * time and in order. A partial batch goes out once its first point has waited `flushAfterMs`,
 * and at the end of input, so a live pipe streams. Reading waits while a full batch is sent,
 * so memory stays bounded however fast the input comes. Bad lines are reported and skipped.
 */
export async function ingestLines(opts: IngestLinesOptions): Promise<IngestLinesResult> {
  let accepted = 0;
  let bad = 0;
  let lineNumber = 0;
  let failure: unknown = undefined;
  let failed = false;
  let batch: PointInput[] = [];
  let sending: Promise<void> = Promise.resolve();
  let timer: ReturnType<typeof setTimeout> | undefined;

  const flush = (): Promise<void> => {
    clearTimeout(timer);
    timer = undefined;
    if (batch.length === 0) return sending;
    const points = batch;
    batch = [];
    sending = sending.then(async () => {
      if (failed) return;
      try {
        accepted += await opts.send(points);
      } catch (error) {
        failed = true;
        failure = error;
      }
    });
    return sending;
  };

  const take = async (line: string) => {
    lineNumber++;
    const parsed = parseLine(line);
    if (parsed === null) return;
    if ('error' in parsed) {
      bad++;
      opts.onBadLine(lineNumber, parsed.error);
      return;
    }
    batch.push(parsed.point);
    if (batch.length >= opts.batchSize) await flush();
    else if (timer === undefined) timer = setTimeout(() => void flush(), opts.flushAfterMs);
  };

  let rest = '';
  let overlong = false;
  try {
    reading: for await (const chunk of opts.input) {
      let start = 0;
      for (let end = chunk.indexOf('\n'); end >= 0; end = chunk.indexOf('\n', start)) {
        const line = rest + chunk.slice(start, end);
        start = end + 1;
        rest = '';
        if (overlong) {
          overlong = false;
          lineNumber++;
          bad++;
          opts.onBadLine(lineNumber, `longer than ${LINE_MAX} characters`);
        } else {
          await take(line);
        }
        if (failed) break reading;
      }
      if (!overlong) rest += chunk.slice(start);
      if (rest.length > LINE_MAX) {
        overlong = true;
        rest = '';
      }
    }
    if (overlong) {
      lineNumber++;
      bad++;
      opts.onBadLine(lineNumber, `longer than ${LINE_MAX} characters`);
    } else if (rest !== '' && !failed) {
      await take(rest);
    }
  } catch (error) {
    // Aborting destroys the input; whatever was read before still goes out below.
    if (!opts.signal?.aborted) {
      clearTimeout(timer);
      await sending;
      throw error;
    }
  }
  await flush();
  return { accepted, bad, failure, lines: lineNumber };
}

function parseBatch(text: string | undefined): number {
  if (text === undefined) return INGEST_BATCH_DEFAULT;
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= INGEST_BATCH_MAX)) {
    throw new UsageError(`--batch '${text}' must be a whole number from 1 to ${INGEST_BATCH_MAX}`);
  }
  return n;
}

export const ingestCommand = defineCommand({
  path: ['ingest'],
  args: [],
  optionalArgs: ['SERIES', 'VALUE'],
  usage: 'SERIES VALUE [--ts MS] | --stdin [--batch N]',
  summary: 'Send metric points: one from the arguments, or a stream of lines from stdin',
  details: [
    'Needs a token with the ingest scope (`pulse login` tokens have it).',
    '',
    '  pulse ingest SERIES VALUE [--ts MS]',
    '      one point; --ts is milliseconds since the epoch (default: now on the server).',
    '      The server takes stamps from its retention ago (24 h unless configured) up to 5',
    '      minutes ahead of its clock, and refuses a batch with any point outside that whole.',
    '      A negative VALUE goes after `--`: pulse ingest temp.outside -- -3.5',
    '  pulse ingest --stdin [--batch N]',
    "      one point per line: 'series value [ts]', separated by spaces or tabs; blank lines",
    '      and lines starting with # are skipped. Points go out in batches of N (default',
    `      ${INGEST_BATCH_DEFAULT}, at most ${INGEST_BATCH_MAX}). A partial batch goes out once its first line has`,
    `      waited ${INGEST_FLUSH_MS / 1000} s, and at the end of input, so a live pipe streams. Ctrl-C sends`,
    '      what was read, then stops. Bad lines are reported on stderr with their line',
    '      number and skipped; the exit code is then 1.',
    '',
    'Series: 1-100 of A-Z a-z 0-9 _ . : -. Prints "accepted N"; with --json, {"accepted",',
    '"bad"}. Example:',
    '  vmstat -n 1 | awk \'NR>2 {print "host.cpu.idle", $15; fflush()}\' | pulse ingest --stdin',
  ],
  options: {
    ts: { type: 'string' },
    stdin: { type: 'boolean' },
    batch: { type: 'string' },
  },
  async run({ values, args, io, client, out, note }) {
    const pulse = client();
    if (!values.stdin) {
      const [series, value] = args;
      if (series === undefined || value === undefined) {
        throw new UsageError(
          series === undefined ? 'Missing SERIES VALUE (or --stdin)' : 'Missing VALUE',
        );
      }
      if (values.batch !== undefined) throw new UsageError('--batch goes with --stdin');
      const parsed = parsePoint(series, value, values.ts);
      if ('error' in parsed) throw new UsageError(parsed.error);
      const { accepted } = await pulse.metrics.ingest.mutate({ points: [parsed.point] });
      out(values.json ? JSON.stringify({ accepted }) : `accepted ${accepted}`);
      return 0;
    }

    if (args.length > 0) throw new UsageError('--stdin takes no SERIES VALUE');
    if (values.ts !== undefined) {
      throw new UsageError('--ts goes with a single point; put a timestamp on each line instead');
    }
    const batchSize = parseBatch(values.batch);
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    let result: IngestLinesResult;
    try {
      io.stdin.setEncoding('utf8');
      const input = addAbortSignal(stop.signal, io.stdin) as AsyncIterable<string>;
      result = await ingestLines({
        input,
        batchSize,
        flushAfterMs: INGEST_FLUSH_MS,
        signal: stop.signal,
        send: async (points) => {
          try {
            return (await pulse.metrics.ingest.mutate({ points })).accepted;
          } catch (error) {
            // Stop reading at once, even from a live pipe that stays quiet for a while.
            stop.abort();
            throw error;
          }
        },
        onBadLine: (line, reason) => note(`line ${line}: ${reason}`),
      });
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }

    if (result.failure !== undefined) {
      note(`Stopped after line ${result.lines}; accepted ${result.accepted} before the failure.`);
      throw result.failure;
    }
    out(
      values.json
        ? JSON.stringify({ accepted: result.accepted, bad: result.bad })
        : `accepted ${result.accepted}`,
    );
    if (result.bad === 0) return 0;
    note(`skipped ${plural(result.bad, 'bad line')}`);
    return 1;
  },
});
