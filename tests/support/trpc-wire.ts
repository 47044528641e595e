import { TRPC_ERROR_CODES_BY_KEY, type TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import type { HttpAnswer, SseOutcome } from './raw-http.ts';

/**
 * Checks of answers against tRPC's wire formats. Each returns `null` when the answer is what
 * was expected, else one line saying what arrived instead, so the suite and the soak share them.
 */

export type TrpcCode = TRPC_ERROR_CODE_KEY;

/** `{ message, code, data: { code, httpStatus, … } }`: tRPC's error shape. */
export interface TrpcErrorShape {
  message: string;
  code: number;
  data: { code: string; httpStatus: number; path?: string; issues?: unknown };
}

/** The typed client errors a hostile input may answer (never a 500). */
export const TYPED_REFUSALS: readonly TrpcCode[] = [
  'BAD_REQUEST',
  'PAYLOAD_TOO_LARGE',
  'NOT_FOUND',
  'FORBIDDEN',
  'UNAUTHORIZED',
  'CONFLICT',
  'TOO_MANY_REQUESTS',
  'PRECONDITION_FAILED',
];

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The value as tRPC's error shape, or null when it is not one (consistent code and number). */
export function asTrpcError(value: unknown): TrpcErrorShape | null {
  if (
    !isRecord(value) ||
    typeof value['message'] !== 'string' ||
    typeof value['code'] !== 'number'
  ) {
    return null;
  }
  const data = value['data'];
  if (
    !isRecord(data) ||
    typeof data['code'] !== 'string' ||
    typeof data['httpStatus'] !== 'number'
  ) {
    return null;
  }
  const key = data['code'] as TrpcCode;
  if (TRPC_ERROR_CODES_BY_KEY[key] !== value['code']) return null;
  return value as unknown as TrpcErrorShape;
}

export const clip = (text: string, max = 300): string =>
  text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text;

const codeProblem = (error: TrpcErrorShape, codes: readonly TrpcCode[]): string | null =>
  codes.includes(error.data.code as TrpcCode)
    ? null
    : `code ${error.data.code} (${clip(error.message, 120)}), wanted ${codes.join(' or ')}`;

/** An HTTP answer carrying tRPC's error `{ error: shape }` with one of `codes`, its status matching. */
export function trpcErrorProblem(answer: HttpAnswer, codes: readonly TrpcCode[]): string | null {
  const body = parseJson(answer.body);
  const error = isRecord(body) ? asTrpcError(body['error']) : null;
  if (!error) return `HTTP ${answer.status} without tRPC's error shape: ${clip(answer.body)}`;
  if (error.data.httpStatus !== answer.status) {
    return `HTTP ${answer.status} but the error says httpStatus ${error.data.httpStatus}`;
  }
  return codeProblem(error, codes);
}

/**
 * A batch refused as a whole: one of `statuses`, and every error in the body (one error, or one
 * per call) has one of `codes`; not a single call answered with data.
 */
export function batchRefusedProblem(
  answer: HttpAnswer,
  statuses: readonly number[],
  codes: readonly TrpcCode[],
): string | null {
  if (!statuses.includes(answer.status)) {
    return `HTTP ${answer.status}, wanted ${statuses.join(' or ')}: ${clip(answer.body)}`;
  }
  const body = parseJson(answer.body);
  const items = Array.isArray(body) ? (body as unknown[]) : [body];
  for (const [i, item] of items.entries()) {
    const error = isRecord(item) ? asTrpcError(item['error']) : null;
    if (!error) return `item ${i} is not a tRPC error: ${clip(JSON.stringify(item))}`;
    const problem = codeProblem(error, codes);
    if (problem) return `item ${i}: ${problem}`;
  }
  return null;
}

/** A plain HTTP status (paths outside /trpc, or statuses tRPC has no code for). */
export function statusProblem(answer: HttpAnswer, statuses: readonly number[]): string | null {
  return statuses.includes(answer.status)
    ? null
    : `HTTP ${answer.status}, wanted ${statuses.join(' or ')}: ${clip(answer.body)}`;
}

/**
 * A subscription refused with one of `codes`: an SSE stream whose deciding frame is
 * `serialized-error`, or an HTTP error answer in tRPC's shape before any stream.
 */
export function sseErrorProblem(outcome: SseOutcome, codes: readonly TrpcCode[]): string | null {
  if (outcome.status !== 200) return trpcErrorProblem(outcome, codes);
  const frame = outcome.frames.find((f) => f.event !== 'connected' && f.event !== 'ping');
  if (!frame) return 'the stream sent no deciding frame';
  if (frame.event !== 'serialized-error') {
    return `the stream went on with '${frame.event}' (${clip(frame.data, 120)}), wanted an error ${codes.join(' or ')}`;
  }
  const error = asTrpcError(parseJson(frame.data));
  if (!error) return `serialized-error without tRPC's error shape: ${clip(frame.data)}`;
  return codeProblem(error, codes);
}

/** A frame tRPC sends over WebSocket. */
export interface TrpcFrame {
  id?: unknown;
  jsonrpc?: string;
  method?: string;
  result?: { type: string; id?: string; data?: unknown };
  error?: unknown;
}

/** A WebSocket error frame for `id` (compared as JSON) with one of `codes`; null when it is one. */
export function wsErrorProblem(
  frame: TrpcFrame,
  ids: readonly unknown[],
  codes: readonly TrpcCode[],
): string | null {
  const wanted = ids.map((id) => JSON.stringify(id));
  if (!wanted.includes(JSON.stringify(frame.id ?? null))) {
    return `frame for id ${JSON.stringify(frame.id)}, wanted ${wanted.join(' or ')}: ${clip(JSON.stringify(frame))}`;
  }
  const error = asTrpcError(frame.error);
  if (!error) return `not an error frame: ${clip(JSON.stringify(frame))}`;
  return codeProblem(error, codes);
}

export const errorCodeOf = (value: unknown): string | null => asTrpcError(value)?.data.code ?? null;
