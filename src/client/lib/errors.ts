import { TRPCClientError } from '@trpc/client';
import type { AppRouter } from '../../server/router.ts';
import { backoffDelayMs } from '../transport/backoff.ts';

type ServerError = TRPCClientError<AppRouter>;
type ServerErrorData = NonNullable<ServerError['data']>;

/** The error data the server sent with an error from any call (none: it did not answer). */
function serverData(error: unknown): ServerErrorData | undefined {
  return (error instanceof TRPCClientError && (error as ServerError).data) || undefined;
}

/** The tRPC error code of an error from any call, if the server sent one. */
export function errorCode(error: unknown): string | undefined {
  return serverData(error)?.code;
}

/** Zod's issues with an input the server refused (`BAD_REQUEST`), if it sent any. */
export function errorIssues(error: unknown): NonNullable<ServerErrorData['issues']> {
  return serverData(error)?.issues ?? [];
}

/** Errors that a retry cannot fix: the caller must act (refetch, sign in, change input). */
const FINAL_CODES = new Set(['PRECONDITION_FAILED', 'UNAUTHORIZED', 'FORBIDDEN', 'BAD_REQUEST']);

export function isFinalError(code: string | undefined): boolean {
  return FINAL_CODES.has(code ?? '');
}

/** A call that got no answer at all (network down, server gone), as opposed to an error answer. */
export function isUnreachable(error: unknown): boolean {
  return error instanceof TRPCClientError && !error.data;
}

/**
 * About 1 s doubling to a 30 s cap. Half of each delay is random ("equal jitter") so that
 * every browser cut off by one server restart does not come back in the same instant.
 */
export function retryDelayMs(attempt: number): number {
  return backoffDelayMs(attempt);
}
