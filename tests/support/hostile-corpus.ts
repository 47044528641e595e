import { randomUUID } from 'node:crypto';
import {
  NoAnswerError,
  httpRequest,
  rawHead,
  rawRequest,
  sseUntil,
  type HttpAnswer,
  type HttpRequestOptions,
  type SseOutcome,
} from './raw-http.ts';
import { TrpcSocket, UpgradeRefusedError, forId, type FrameOrClose } from './trpc-socket.ts';
import {
  asTrpcError,
  batchRefusedProblem,
  clip,
  parseJson,
  sseErrorProblem,
  statusProblem,
  trpcErrorProblem,
  wsErrorProblem,
  type TrpcCode,
} from './trpc-wire.ts';

/**
 * Hostile requests and frames, each with the answer the contract demands (`../shared/API.md`,
 * "Limits and hostile input"), shared by the attack suite (tests/integration/hostile.test.ts),
 * which runs each once against a fresh server, and the soak (bench/soak.ts), which loops them
 * under load. A case never leaves anything behind on a server that behaves: it stores nothing
 * and closes what it opened.
 */

/** The limits the cases probe: the defaults of `src/server/env.ts`. */
export const LIMITS = {
  maxBodyBytes: 1 << 20,
  maxBatchCalls: 100,
  maxUrlBytes: 8192,
  maxSseInputBytes: 4096,
  maxJsonDepth: 64,
  maxWsFrameBytes: 1 << 20,
  maxSubscriptionsPerSocket: 100,
  maxAnonSocketsPerAddress: 20,
  /** A batch plus a socket's subscriptions: what `wsLink` re-sends in one frame after a reconnect. */
  maxCallsPerWsFrame: 200,
} as const;

export interface CorpusTarget {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /**
   * Headers that make a request (and a WebSocket upgrade) an admin's: the session cookie, or
   * `authorization: Bearer …` of a token with the `read`, `write` and `notify` scopes.
   */
  adminHeaders: Record<string, string>;
}

export type CorpusGroup = 'url' | 'host' | 'headers' | 'sign-in' | 'json' | 'batch' | 'sse' | 'ws';

export interface Verdict {
  ok: boolean;
  /** No answer at all: a timeout, or a connection that ended without a response. */
  unanswered: boolean;
  detail: string;
}

export interface HostileCase {
  readonly name: string;
  readonly group: CorpusGroup;
  run(target: CorpusTarget): Promise<Verdict>;
}

const PASS: Verdict = { ok: true, unanswered: false, detail: 'as expected' };

/** Runs one attempt and turns its outcome into a verdict. */
async function judge(attempt: () => Promise<string | null>): Promise<Verdict> {
  try {
    const problem = await attempt();
    return problem === null ? PASS : { ok: false, unanswered: false, detail: problem };
  } catch (error) {
    if (error instanceof NoAnswerError)
      return { ok: false, unanswered: true, detail: error.message };
    if (error instanceof UpgradeRefusedError)
      return { ok: false, unanswered: false, detail: error.message };
    return {
      ok: false,
      unanswered: false,
      detail: error instanceof Error ? error.message : String(error),
    };
  }
}

const hostOf = (t: CorpusTarget) => new URL(t.url).host;
const portOf = (t: CorpusTarget) => new URL(t.url).port;
const headerList = (headers: Record<string, string>): [string, string][] => Object.entries(headers);
const unique = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

function rawCase(
  name: string,
  group: CorpusGroup,
  bytes: (t: CorpusTarget) => string | Buffer,
  check: (answer: HttpAnswer) => string | null,
): HostileCase {
  return { name, group, run: (t) => judge(async () => check(await rawRequest(t.url, bytes(t)))) };
}

function httpCase(
  name: string,
  group: CorpusGroup,
  request: (t: CorpusTarget) => HttpRequestOptions,
  check: (answer: HttpAnswer) => string | null,
): HostileCase {
  return {
    name,
    group,
    run: (t) => judge(async () => check(await httpRequest(t.url, request(t)))),
  };
}

function sseCase(
  name: string,
  request: (t: CorpusTarget) => {
    path: string;
    headers?: Record<string, string>;
    method?: string;
    body?: string;
  },
  check: (outcome: SseOutcome) => string | null,
): HostileCase {
  return {
    name,
    group: 'sse',
    run: (t) =>
      judge(async () => {
        const { path, headers, method, body } = request(t);
        return check(await sseUntil(t.url, path, headers ?? {}, { method, body }));
      }),
  };
}

function wsCase(
  name: string,
  script: (socket: TrpcSocket, t: CorpusTarget) => Promise<string | null>,
): HostileCase {
  return {
    name,
    group: 'ws',
    run: (t) =>
      judge(async () => {
        const socket = await TrpcSocket.open(t.url, { headers: t.adminHeaders });
        try {
          return await script(socket, t);
        } finally {
          await socket.close();
        }
      }),
  };
}

/** POST of `body` (sent as given) to `path` as the admin. */
const adminPost =
  (path: string, body: string | Buffer, contentType: string | null = 'application/json') =>
  (t: CorpusTarget): HttpRequestOptions => ({
    method: 'POST',
    path: `/trpc/${path}`,
    headers: {
      ...t.adminHeaders,
      ...(contentType === null ? {} : { 'content-type': contentType }),
    },
    body,
  });

const badRequest = (a: HttpAnswer) => trpcErrorProblem(a, ['BAD_REQUEST']);
const unauthorized = (a: HttpAnswer) => trpcErrorProblem(a, ['UNAUTHORIZED']);

/** 413, and when the body is tRPC's error shape, `PAYLOAD_TOO_LARGE`. */
export function payloadTooLargeProblem(answer: HttpAnswer): string | null {
  if (answer.status !== 413) return `HTTP ${answer.status}, wanted 413: ${clip(answer.body)}`;
  if (answer.body.trim() === '' || parseJson(answer.body) === undefined) return null;
  return trpcErrorProblem(answer, ['PAYLOAD_TOO_LARGE']);
}

/** A `system.health` answer: the request was served. */
function servedProblem(answer: HttpAnswer): string | null {
  const body = parseJson(answer.body) as { result?: { data?: { status?: unknown } } } | undefined;
  if (answer.status === 200 && body?.result?.data?.status === 'ok') return null;
  return `HTTP ${answer.status}, wanted 200 with the health: ${clip(answer.body)}`;
}

/** A body of exactly `bytes` bytes: a notification whose title fills it (valid JSON, invalid input). */
export function notificationBodyOf(bytes: number): string {
  const shell = JSON.stringify({ to: { all: true }, title: '', severity: 'info' });
  return shell.replace('"title":""', `"title":"${'a'.repeat(bytes - shell.length)}"`);
}

/** An SSE `input` of exactly `bytes` bytes that needs no percent-encoding and is invalid only by type. */
export function sseInputOf(bytes: number): string {
  const shell = '{"lastEventId":1,"pad":""}';
  return shell.replace('"pad":""', `"pad":"${'a'.repeat(bytes - shell.length)}"`);
}

/** `{"name":[[…]]}`: JSON whose arrays and objects nest exactly `depth` levels deep. */
export const nestedJson = (depth: number) =>
  `{"name":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;

/**
 * BAD_REQUEST for the nesting alone when `refused` (the limit named, no zod issues: nothing
 * parsed it); else BAD_REQUEST from validation (zod's issues): parsed, not refused for depth.
 */
function depthProblem(error: unknown, refused: boolean): string | null {
  const shape = asTrpcError(error);
  if (!shape) return `not tRPC's error shape: ${clip(String(JSON.stringify(error)))}`;
  if (shape.data.code !== 'BAD_REQUEST')
    return `code ${shape.data.code} (${clip(shape.message, 120)}), wanted BAD_REQUEST`;
  const validated = Array.isArray(shape.data.issues) && shape.data.issues.length > 0;
  if (!refused) return validated ? null : `refused unparsed: ${clip(shape.message, 160)}`;
  return !validated && shape.message.includes(`${LIMITS.maxJsonDepth} levels`)
    ? null
    : `BAD_REQUEST, but not for the nesting: ${clip(shape.message, 160)}`;
}

const httpDepthProblem = (refused: boolean) => (answer: HttpAnswer) =>
  trpcErrorProblem(answer, ['BAD_REQUEST']) ??
  depthProblem((parseJson(answer.body) as { error?: unknown } | undefined)?.error, refused);

/** `n` copies of `path` as one batch. */
export const batchPath = (path: string, n: number) =>
  Array.from({ length: n }, () => path).join(',');

/** An error frame for one of `ids` with one of `codes`, or a close with one of `closeCodes`. */
function frameOrCloseProblem(
  outcome: FrameOrClose,
  ids: readonly unknown[],
  codes: readonly TrpcCode[],
  closeCodes: readonly number[],
): string | null {
  if (outcome.close) {
    const { code, reason } = outcome.close;
    return closeCodes.includes(code)
      ? null
      : `socket closed with ${code} (${reason}), wanted an error frame${closeCodes.length > 0 ? ` or close ${closeCodes.join('/')}` : ''}`;
  }
  return wsErrorProblem(outcome.frame, ids, codes);
}

/** The first frame the server sends on a fresh socket, or its close. */
const firstFrameOrClose = (socket: TrpcSocket) => socket.frameOrClose(() => true, 'a first frame');

/** After a refused frame the socket must still serve, unless the server closed it. */
async function stillServes(socket: TrpcSocket): Promise<string | null> {
  if (!socket.open) return null;
  const answer = await socket.call('still-there', 'query', 'system.health');
  return answer.result?.type === 'data'
    ? null
    : `the socket stopped serving: ${clip(JSON.stringify(answer))}`;
}

const PARSE_CODES: readonly TrpcCode[] = ['PARSE_ERROR', 'BAD_REQUEST'];

/** A frame the server cannot take: an error frame with id null (or one of `closeCodes`), and the socket still works. */
function refusedFrame(
  name: string,
  frame: () => string | Buffer,
  binary = false,
  closeCodes: number[] = [],
) {
  return wsCase(name, async (socket) => {
    socket.sendRaw(frame(), binary);
    const outcome = await firstFrameOrClose(socket);
    return (
      frameOrCloseProblem(outcome, [null], PARSE_CODES, closeCodes) ?? (await stillServes(socket))
    );
  });
}

/** A message whose `id` is not a string or number: refused with an error frame for id null. */
function invalidIdCase(kind: 'query' | 'subscription', label: string, id: unknown, omit = false) {
  const path = kind === 'query' ? 'system.health' : 'notifications.onReadState';
  return wsCase(`ws: ${kind} with id ${label}`, async (socket) => {
    socket.send({ ...(omit ? {} : { id }), method: kind, params: { path } });
    const outcome = await firstFrameOrClose(socket);
    return frameOrCloseProblem(outcome, [null], PARSE_CODES, []) ?? (await stillServes(socket));
  });
}

export const hostileCorpus: readonly HostileCase[] = [
  // URLs and percent-escapes: 400 (tRPC's error shape under /trpc), 414 past the URL limit.
  rawCase(
    'GET /trpc/%ff',
    'url',
    (t) => rawHead('GET', '/trpc/%ff', [['Host', hostOf(t)]]),
    badRequest,
  ),
  rawCase(
    'GET /trpc/%',
    'url',
    (t) => rawHead('GET', '/trpc/%', [['Host', hostOf(t)]]),
    badRequest,
  ),
  rawCase(
    'GET /trpc/a%00b',
    'url',
    (t) => rawHead('GET', '/trpc/a%00b', [['Host', hostOf(t)]]),
    badRequest,
  ),
  rawCase(
    'GET /trpc/notifications.onNotification%ff (a subscription path)',
    'url',
    (t) =>
      rawHead('GET', '/trpc/notifications.onNotification%ff', [
        ['Host', hostOf(t)],
        ...headerList(t.adminHeaders),
      ]),
    badRequest,
  ),
  rawCase(
    'GET /%ff',
    'url',
    (t) => rawHead('GET', '/%ff', [['Host', hostOf(t)]]),
    (a) => statusProblem(a, [400]),
  ),
  rawCase(
    'GET /trpc/auth.me?input=%E0%A4%A (a broken escape in the query)',
    'url',
    (t) =>
      rawHead('GET', '/trpc/auth.me?input=%E0%A4%A', [
        ['Host', hostOf(t)],
        ...headerList(t.adminHeaders),
      ]),
    badRequest,
  ),
  rawCase(
    'GET a URL of exactly 8,192 bytes is served',
    'url',
    (t) => {
      const base = '/trpc/system.health?pad=';
      return rawHead('GET', base + 'a'.repeat(LIMITS.maxUrlBytes - base.length), [
        ['Host', hostOf(t)],
      ]);
    },
    (a) => statusProblem(a, [200]),
  ),
  rawCase(
    'GET a URL of 9,000 bytes (over PULSE_MAX_URL_BYTES)',
    'url',
    (t) => {
      const base = '/trpc/system.health?pad=';
      return rawHead('GET', base + 'a'.repeat(9000 - base.length), [['Host', hostOf(t)]]);
    },
    (a) => statusProblem(a, [414]),
  ),
  rawCase(
    'GET a path of 20,000 bytes',
    'url',
    (t) => rawHead('GET', `/trpc/${'a'.repeat(20_000 - 6)}`, [['Host', hostOf(t)]]),
    (a) => statusProblem(a, [414, 431]),
  ),

  {
    // Past Node's 16 KiB header limit the answer must survive the close: a server that resets
    // the connection with the client's bytes unread loses its own 431 on the way.
    name: 'GET a URL of 1 MB, twenty times (four at once): each answered 414 or 431',
    group: 'url',
    run: (t) =>
      judge(async () => {
        const head = rawHead('GET', `/trpc/system.health?pad=${'a'.repeat(1_000_000)}`, [
          ['Host', hostOf(t)],
        ]);
        const problems: string[] = [];
        const unanswered: string[] = [];
        for (let round = 0; round < 5; round++) {
          const answers = await Promise.all(
            Array.from({ length: 4 }, () =>
              rawRequest(t.url, head).catch((error: unknown) => error),
            ),
          );
          for (const answer of answers) {
            if (answer instanceof NoAnswerError) unanswered.push(answer.message);
            else if (answer instanceof Error) throw answer;
            else {
              const problem = statusProblem(answer as HttpAnswer, [414, 431]);
              if (problem) problems.push(problem);
            }
          }
        }
        if (unanswered.length > 0) {
          throw new NoAnswerError(
            'closed',
            `${unanswered.length} of 20 got no answer: ${unanswered[0]}`,
          );
        }
        return problems.length === 0 ? null : `${problems.length} of 20: ${problems[0]}`;
      }),
  },

  // Host (DNS rebinding): refused before anything runs; missing Host is a bad request.
  rawCase(
    'Host: evil.example on /healthz',
    'host',
    () => rawHead('GET', '/healthz', [['Host', 'evil.example']]),
    (a) => statusProblem(a, [421]),
  ),
  rawCase(
    'Host: evil.example:<port> on auth.me as the admin',
    'host',
    (t) =>
      rawHead('GET', '/trpc/auth.me', [
        ['Host', `evil.example:${portOf(t)}`],
        ...headerList(t.adminHeaders),
      ]),
    (a) => statusProblem(a, [421]),
  ),
  rawCase(
    'Host: evil.example on an admin mutation (teams.create)',
    'host',
    (t) => {
      const body = JSON.stringify({ name: unique('evil-host') });
      return (
        rawHead('POST', '/trpc/teams.create', [
          ['Host', 'evil.example'],
          ...headerList(t.adminHeaders),
          ['Content-Type', 'application/json'],
          ['Content-Length', String(Buffer.byteLength(body))],
        ]) + body
      );
    },
    (a) => statusProblem(a, [421]),
  ),
  {
    name: 'Host: evil.example on the WebSocket upgrade',
    group: 'host',
    run: (t) =>
      judge(async () => {
        const status = await TrpcSocket.upgradeStatus(t.url, {
          ...t.adminHeaders,
          host: 'evil.example',
        });
        return status === 421 ? null : `upgrade answered ${status}, wanted 421`;
      }),
  },
  rawCase(
    'HTTP/1.0 request without Host',
    'host',
    () => 'GET /healthz HTTP/1.0\r\n\r\n',
    (a) => statusProblem(a, [400]),
  ),
  rawCase(
    'HTTP/1.1 request without Host',
    'host',
    () => 'GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n',
    (a) => statusProblem(a, [400]),
  ),
  ...(['localhost', '127.0.0.1', '[::1]'] as const).map((name) =>
    rawCase(
      `Host: ${name}:<port> is served`,
      'host',
      (t) => rawHead('GET', '/trpc/system.health', [['Host', `${name}:${portOf(t)}`]]),
      servedProblem,
    ),
  ),

  // Headers and cookies: bad credentials are UNAUTHORIZED, never a 500.
  httpCase(
    'Cookie of garbage (pulse_session=%zz; ;;=;)',
    'headers',
    () => ({ path: '/trpc/auth.me', headers: { cookie: 'pulse_session=%zz; ;;=;' } }),
    unauthorized,
  ),
  httpCase(
    '100 cookies',
    'headers',
    () => ({
      path: '/trpc/auth.me',
      headers: { cookie: Array.from({ length: 100 }, (_, i) => `c${i}=v${i}`).join('; ') },
    }),
    unauthorized,
  ),
  httpCase(
    'a session cookie of 10 KB',
    'headers',
    () => ({
      path: '/trpc/auth.me',
      headers: { cookie: `pulse_session=${'s'.repeat(10 * 1024)}` },
    }),
    unauthorized,
  ),
  httpCase(
    'a bearer token of 10 KB',
    'headers',
    () => ({
      path: '/trpc/auth.me',
      headers: { authorization: `Bearer ${'a'.repeat(10 * 1024)}` },
    }),
    unauthorized,
  ),
  httpCase(
    'Authorization: Bearer with nothing',
    'headers',
    () => ({ path: '/trpc/auth.me', headers: { authorization: 'Bearer' } }),
    unauthorized,
  ),
  httpCase(
    'Authorization: Basic',
    'headers',
    () => ({ path: '/trpc/auth.me', headers: { authorization: 'Basic YWRtaW46YWRtaW4tc2VjcmV0' } }),
    unauthorized,
  ),
  rawCase(
    'a bearer token that is not ASCII',
    'headers',
    (t) =>
      rawHead('GET', '/trpc/auth.me', [
        ['Host', hostOf(t)],
        ['Authorization', 'Bearer pülse_ünïcode'],
      ]),
    unauthorized,
  ),

  // Sign-in from this address (the soak's traffic must never depend on it).
  httpCase(
    'auth.login of an unknown user with a wrong password',
    'sign-in',
    () => ({
      method: 'POST',
      path: '/trpc/auth.login',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'nobody-here', password: 'wrong-password' }),
    }),
    (a) => trpcErrorProblem(a, ['UNAUTHORIZED', 'TOO_MANY_REQUESTS']),
  ),

  // JSON bodies: a typed 4xx, never a 500; over the body limit 413.
  httpCase('broken JSON', 'json', adminPost('teams.create', '{"name":'), (a) =>
    trpcErrorProblem(a, ['BAD_REQUEST', 'PARSE_ERROR']),
  ),
  httpCase('a body of null', 'json', adminPost('teams.create', 'null'), badRequest),
  httpCase('a JSON array', 'json', adminPost('teams.create', '[{"name":"x"}]'), badRequest),
  httpCase(
    'a 50-level-deep object',
    'json',
    adminPost(
      'teams.create',
      Array.from({ length: 50 }).reduce<string>((inner) => `{"name":${inner}}`, '"x"'),
    ),
    badRequest,
  ),
  httpCase(
    'a 100,000-level-deep array, unclosed',
    'json',
    adminPost('teams.create', '['.repeat(100_000)),
    (a) => trpcErrorProblem(a, ['BAD_REQUEST', 'PARSE_ERROR']),
  ),
  httpCase(
    'a 100,000-level-deep array in a field',
    'json',
    adminPost('teams.create', `{"name":${'['.repeat(100_000)}${']'.repeat(100_000)}}`),
    badRequest,
  ),
  httpCase(
    `a body nested ${LIMITS.maxJsonDepth} levels deep is not refused for its depth`,
    'json',
    adminPost('teams.create', nestedJson(LIMITS.maxJsonDepth)),
    httpDepthProblem(false),
  ),
  httpCase(
    `a body nested ${LIMITS.maxJsonDepth + 1} levels deep (over PULSE_MAX_JSON_DEPTH)`,
    'json',
    adminPost('teams.create', nestedJson(LIMITS.maxJsonDepth + 1)),
    httpDepthProblem(true),
  ),
  httpCase(
    `a body nested ${LIMITS.maxJsonDepth + 1} levels deep, chunked`,
    'json',
    (t) => {
      const request = adminPost('teams.create', nestedJson(LIMITS.maxJsonDepth + 1))(t);
      return { ...request, headers: { ...request.headers, 'transfer-encoding': 'chunked' } };
    },
    httpDepthProblem(true),
  ),
  httpCase(
    `a query's input nested ${LIMITS.maxJsonDepth} levels deep is not refused for its depth`,
    'json',
    (t) => ({
      path: `/trpc/chat.room?input=${encodeURIComponent(nestedJson(LIMITS.maxJsonDepth))}`,
      headers: t.adminHeaders,
    }),
    httpDepthProblem(false),
  ),
  httpCase(
    `a query's input nested ${LIMITS.maxJsonDepth + 1} levels deep`,
    'json',
    (t) => ({
      path: `/trpc/chat.room?input=${encodeURIComponent(nestedJson(LIMITS.maxJsonDepth + 1))}`,
      headers: t.adminHeaders,
    }),
    httpDepthProblem(true),
  ),
  httpCase(
    'a number of 1e999',
    'json',
    adminPost('incidents.acknowledge', '{"id":"inc_x","version":1e999}'),
    badRequest,
  ),
  httpCase(
    'a string of 900 KB in a 200-character field',
    'json',
    adminPost(
      'notifications.send',
      JSON.stringify({ to: { all: true }, title: 'a'.repeat(900_000), severity: 'info' }),
    ),
    badRequest,
  ),
  httpCase(
    'Content-Type: text/plain',
    'json',
    adminPost('teams.create', '{"name":"x"}', 'text/plain'),
    (a) => trpcErrorProblem(a, ['BAD_REQUEST', 'PARSE_ERROR', 'UNSUPPORTED_MEDIA_TYPE']),
  ),
  httpCase('no Content-Type', 'json', adminPost('teams.create', '{"name":"x"}', null), (a) =>
    trpcErrorProblem(a, ['BAD_REQUEST', 'PARSE_ERROR', 'UNSUPPORTED_MEDIA_TYPE']),
  ),
  httpCase(
    'Content-Type: multipart/form-data with a JSON body',
    'json',
    adminPost('teams.create', '{"name":"x"}', 'multipart/form-data; boundary=zz'),
    (a) => trpcErrorProblem(a, ['BAD_REQUEST', 'PARSE_ERROR', 'UNSUPPORTED_MEDIA_TYPE']),
  ),
  httpCase(
    'Content-Type: application/octet-stream',
    'json',
    adminPost('teams.create', '{"name":"x"}', 'application/octet-stream'),
    (a) => trpcErrorProblem(a, ['BAD_REQUEST', 'PARSE_ERROR', 'UNSUPPORTED_MEDIA_TYPE']),
  ),
  httpCase(
    'a body of exactly 1 MiB is not refused for its size',
    'json',
    adminPost('notifications.send', notificationBodyOf(LIMITS.maxBodyBytes)),
    badRequest,
  ),
  httpCase(
    'a body of 1 MiB + 1 byte (Content-Length)',
    'json',
    (t) => ({
      ...adminPost('notifications.send', notificationBodyOf(LIMITS.maxBodyBytes + 1))(t),
      keepAlive: true,
    }),
    payloadTooLargeProblem,
  ),

  // Batches: more than 100 calls are refused as a whole, and none of them runs.
  httpCase(
    'POST batch of 101 teams.create',
    'batch',
    (t) => {
      const n = LIMITS.maxBatchCalls + 1;
      const input = Object.fromEntries(
        Array.from({ length: n }, (_, i) => [i, { name: unique(`batch-${i}`) }]),
      );
      return adminPost(`${batchPath('teams.create', n)}?batch=1`, JSON.stringify(input))(t);
    },
    (a) => batchRefusedProblem(a, [400], ['BAD_REQUEST']),
  ),
  httpCase(
    'GET batch of 101 auth.me',
    'batch',
    (t) => ({
      path: `/trpc/${batchPath('auth.me', LIMITS.maxBatchCalls + 1)}?batch=1`,
      headers: t.adminHeaders,
    }),
    (a) => batchRefusedProblem(a, [400], ['BAD_REQUEST']),
  ),

  // Subscriptions over SSE: typed errors in the stream (or before it).
  sseCase(
    'Last-Event-ID of 10 KB',
    (t) => ({
      path: '/trpc/notifications.onNotification',
      headers: { ...t.adminHeaders, 'Last-Event-ID': 'x'.repeat(10 * 1024) },
    }),
    (o) => sseErrorProblem(o, ['BAD_REQUEST']),
  ),
  sseCase(
    'Last-Event-ID that is not ASCII',
    (t) => ({
      path: '/trpc/notifications.onNotification',
      headers: { ...t.adminHeaders, 'Last-Event-ID': 'ntf_ünïcödé' },
    }),
    (o) => sseErrorProblem(o, ['BAD_REQUEST', 'PRECONDITION_FAILED']),
  ),
  sseCase(
    'Last-Event-ID well-formed but unknown',
    (t) => ({
      path: '/trpc/notifications.onNotification',
      headers: { ...t.adminHeaders, 'Last-Event-ID': 'ntf_999999999' },
    }),
    (o) => sseErrorProblem(o, ['PRECONDITION_FAILED']),
  ),
  sseCase(
    `SSE input of ${LIMITS.maxSseInputBytes + 1} bytes (over PULSE_MAX_SSE_INPUT_BYTES)`,
    (t) => ({
      path: `/trpc/notifications.onNotification?input=${sseInputOf(LIMITS.maxSseInputBytes + 1)}`,
      headers: t.adminHeaders,
    }),
    (o) => sseErrorProblem(o, ['PAYLOAD_TOO_LARGE']),
  ),
  sseCase(
    `SSE input of exactly ${LIMITS.maxSseInputBytes} bytes is not refused for its size`,
    (t) => ({
      path: `/trpc/notifications.onNotification?input=${sseInputOf(LIMITS.maxSseInputBytes)}`,
      headers: t.adminHeaders,
    }),
    (o) => sseErrorProblem(o, ['BAD_REQUEST']),
  ),
  sseCase(
    `SSE input nested ${LIMITS.maxJsonDepth + 1} levels deep`,
    (t) => ({
      path: `/trpc/notifications.onNotification?input=${encodeURIComponent(nestedJson(LIMITS.maxJsonDepth + 1))}`,
      headers: t.adminHeaders,
    }),
    (o) =>
      sseErrorProblem(o, ['BAD_REQUEST']) ??
      depthProblem(
        o.status === 200
          ? parseJson(o.frames.find((f) => f.event === 'serialized-error')?.data ?? '')
          : (parseJson(o.body) as { error?: unknown } | undefined)?.error,
        true,
      ),
  ),
  sseCase(
    'SSE input that is not JSON',
    (t) => ({
      path: '/trpc/notifications.onNotification?input=%7B%22lastEventId',
      headers: t.adminHeaders,
    }),
    (o) => sseErrorProblem(o, ['PARSE_ERROR', 'BAD_REQUEST']),
  ),
  sseCase(
    'SSE input of the wrong type (42)',
    (t) => ({ path: '/trpc/notifications.onNotification?input=42', headers: t.adminHeaders }),
    (o) => sseErrorProblem(o, ['BAD_REQUEST']),
  ),
  sseCase(
    'SSE chat.onMessage of an unknown room',
    (t) => ({
      path: `/trpc/chat.onMessage?input=${encodeURIComponent(JSON.stringify({ roomId: 'room_team_unknown' }))}`,
      headers: t.adminHeaders,
    }),
    (o) => sseErrorProblem(o, ['NOT_FOUND']),
  ),
  sseCase(
    'SSE subscription without credentials',
    () => ({ path: '/trpc/notifications.onNotification' }),
    (o) => sseErrorProblem(o, ['UNAUTHORIZED']),
  ),
  sseCase(
    'GET of an unknown procedure',
    (t) => ({ path: '/trpc/notifications.onNothing', headers: t.adminHeaders }),
    (o) => sseErrorProblem(o, ['NOT_FOUND']),
  ),
  sseCase(
    'a subscription over POST',
    (t) => ({
      path: '/trpc/notifications.onNotification',
      method: 'POST',
      headers: { ...t.adminHeaders, 'Content-Type': 'application/json' },
      body: '{}',
    }),
    (o) => sseErrorProblem(o, ['METHOD_NOT_SUPPORTED']),
  ),
  httpCase(
    'a mutation over GET',
    'sse',
    (t) => ({
      path: `/trpc/teams.create?input=${encodeURIComponent('{"name":"over-get"}')}`,
      headers: t.adminHeaders,
    }),
    (a) => trpcErrorProblem(a, ['METHOD_NOT_SUPPORTED']),
  ),
  httpCase('a query over POST', 'sse', adminPost('auth.me', '{}'), (a) =>
    trpcErrorProblem(a, ['METHOD_NOT_SUPPORTED']),
  ),

  // WebSocket frames (an admin's socket): errors for what cannot be read, 1009 past 1 MiB.
  refusedFrame('ws: a text frame that is not JSON', () => 'hello {'),
  refusedFrame(
    'ws: a binary frame',
    () => Buffer.from('{"id":1,"method":"query","params":{"path":"system.health"}}'),
    true,
    [1003],
  ),
  refusedFrame('ws: {}', () => '{}'),
  refusedFrame('ws: []', () => '[]', false, [1008]),
  wsCase('ws: an unknown method', async (socket) => {
    socket.send({ id: 7, method: 'launch', params: { path: 'system.health' } });
    const outcome = await firstFrameOrClose(socket);
    return (
      frameOrCloseProblem(
        outcome,
        [7, null],
        ['PARSE_ERROR', 'BAD_REQUEST', 'METHOD_NOT_SUPPORTED'],
        [],
      ) ?? (await stillServes(socket))
    );
  }),
  ...(['query', 'subscription'] as const).flatMap((kind) => [
    invalidIdCase(kind, 'null', null),
    invalidIdCase(kind, 'true', true),
    invalidIdCase(kind, '{}', {}),
    invalidIdCase(kind, '[]', []),
    invalidIdCase(kind, 'missing', undefined, true),
  ]),
  wsCase('ws: ids of every valid type are echoed', async (socket) => {
    const ids: (number | string)[] = [0, -3, 1.5, 1e300, '', 'abc', 'ü'];
    for (const [i, id] of ids.entries()) {
      const kind = i % 2 === 0 ? 'query' : 'subscription';
      socket.send({
        id,
        method: kind,
        params: { path: kind === 'query' ? 'system.health' : 'notifications.onReadState' },
      });
    }
    for (const [i, id] of ids.entries()) {
      const frame = await socket.waitFor(
        (f) => f.id === id,
        `the answer for id ${JSON.stringify(id)}`,
      );
      const wanted = i % 2 === 0 ? 'data' : 'started';
      if (frame.result?.type !== wanted)
        return `id ${JSON.stringify(id)}: ${clip(JSON.stringify(frame))}, wanted ${wanted}`;
    }
    return null;
  }),
  // The message and its params are two of the levels.
  wsCase(
    `ws: a message nested ${LIMITS.maxJsonDepth} levels deep is not refused for its depth`,
    async (socket) => {
      socket.sendRaw(
        `{"id":"deep","method":"mutation","params":{"path":"teams.create","input":${nestedJson(LIMITS.maxJsonDepth - 2)}}}`,
      );
      const outcome = await socket.frameOrClose(forId('deep'), 'the answer for id deep');
      if (outcome.close)
        return `socket closed with ${outcome.close.code}, wanted an error for its id`;
      return depthProblem(outcome.frame.error, false);
    },
  ),
  wsCase(`ws: a message nested ${LIMITS.maxJsonDepth + 1} levels deep`, async (socket) => {
    socket.sendRaw(
      `{"id":"deeper","method":"mutation","params":{"path":"teams.create","input":${nestedJson(LIMITS.maxJsonDepth - 1)}}}`,
    );
    const outcome = await firstFrameOrClose(socket);
    if (outcome.close) return `socket closed with ${outcome.close.code}, wanted an error frame`;
    if (outcome.frame.id !== null)
      return `an answer for id ${JSON.stringify(outcome.frame.id)}, wanted one for id null`;
    return depthProblem(outcome.frame.error, true) ?? (await stillServes(socket));
  }),
  wsCase('ws: a frame of 2 MiB', async (socket) => {
    socket.sendRaw(
      `{"id":1,"method":"query","params":{"path":"system.health","input":"${'a'.repeat(2 << 20)}"}}`,
    );
    const close = await socket.closed();
    return close.code === 1009 ? null : `closed with ${close.code}, wanted 1009`;
  }),
  wsCase(
    `ws: an array of ${LIMITS.maxCallsPerWsFrame} messages is answered in full`,
    async (socket) => {
      const ids = Array.from({ length: LIMITS.maxCallsPerWsFrame }, (_, i) => `full-${i}`);
      socket.send(ids.map((id) => ({ id, method: 'query', params: { path: 'system.health' } })));
      for (const id of ids) {
        const frame = await socket.waitFor(forId(id), `the answer for ${id}`);
        if (frame.result?.type !== 'data')
          return `id ${id}: ${clip(JSON.stringify(frame))}, wanted data`;
      }
      return null;
    },
  ),
  wsCase(`ws: an array of ${LIMITS.maxCallsPerWsFrame + 1} messages`, async (socket) => {
    const n = LIMITS.maxCallsPerWsFrame + 1;
    const ids = Array.from({ length: n }, (_, i) => `many-${i}`);
    socket.send(
      ids.map((id) => ({
        id,
        method: 'mutation',
        params: { path: 'teams.create', input: { name: unique(id) } },
      })),
    );
    // Refused as a whole, none of it run: the socket closes with 1008.
    const outcome = await socket.frameOrClose(forId(ids[0] ?? ''), 'the close');
    if (!outcome.close)
      return `answered ${clip(JSON.stringify(outcome.frame))}, wanted a close with 1008`;
    return outcome.close.code === 1008 ? null : `closed with ${outcome.close.code}, wanted 1008`;
  }),
];
