import { isTRPCClientError } from '@trpc/client';
import type { AppRouter } from '../server/router.ts';
import { PulseVersionError } from '../sdk/api-version.ts';

/** A failure the CLI explains itself; exits 1. */
export class CliError extends Error {
  override name = 'CliError';
}

/** Wrong words or flags on the command line; exits 2 with the command's usage. */
export class UsageError extends CliError {
  override name = 'UsageError';
}

/** Exit codes: 0 done, 1 failed, 2 misused. */
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** What Node's fetch reports when it never reached the server (`ECONNREFUSED`, DNS, …). */
function networkReason(error: unknown): string | null {
  let cause: unknown = error;
  for (let depth = 0; depth < 4 && cause instanceof Error; depth++) {
    const code = (cause as Error & { code?: unknown }).code;
    if (typeof code === 'string') return code;
    cause = cause.cause;
  }
  return error instanceof Error && /fetch failed/i.test(error.message) ? 'fetch failed' : null;
}

/**
 * One line (or a few) for stderr: the server's code and message as it sent them
 * (`UNAUTHORIZED: Sign in or send an API token`), with zod's issues by field for `BAD_REQUEST`;
 * or, for a server whose API version the CLI does not speak, which side is behind.
 */
export function describeError(error: unknown, url: string): string {
  if (error instanceof CliError) return error.message;
  const mismatch = error instanceof Error ? error.cause : undefined;
  if (mismatch instanceof PulseVersionError) {
    return `Cannot use Pulse at ${url}: ${mismatch.message}`;
  }
  if (isTRPCClientError<AppRouter>(error)) {
    const code = error.data?.code;
    const issues = error.data?.issues;
    if (code === 'BAD_REQUEST' && issues && issues.length > 0) {
      const fields = issues.map((issue) => {
        const path = issue.path.map(String).join('.');
        return path ? `${path}: ${issue.message}` : issue.message;
      });
      return `BAD_REQUEST: Invalid input: ${fields.join('; ')}`;
    }
    if (code) return `${code}: ${error.message}`;
    const reason = networkReason(error.cause) ?? networkReason(error);
    if (reason) return `Cannot reach Pulse at ${url} (${reason})`;
    return error.message;
  }
  if (error instanceof Error) return error.message;
  return String(error);
}

/** The tRPC error code of a failed call, if the server answered one. */
export function errorCode(error: unknown): string | undefined {
  return isTRPCClientError<AppRouter>(error) ? error.data?.code : undefined;
}
