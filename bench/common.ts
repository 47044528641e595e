import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** What the seeding step hands to the servers and the load generator (written as JSON). */
export interface BenchCredentials {
  teamId: string;
  teamName: string;
  /** Bearer token with the `notify` scope (an admin's). */
  adminToken: string;
  /** One `read` token per subscriber, each for a different member of the team. */
  memberTokens: string[];
  /** Each token's member, by username (`memberUsernames[i]` holds `memberTokens[i]`). */
  memberUsernames: string[];
}

/** How the load subscribes: SSE `notifications.onNotification`, or a plain WebSocket. */
export type Transport = 'sse' | 'ws';
/** Whom each send is for: the whole team (a broadcast), or one user, each in turn. */
export type Address = 'team' | 'user';

/** One measured phase (fixed rate or flat out) against one server. */
export interface PhaseResult {
  name: 'fixed' | 'flat';
  /** Sends the server accepted (HTTP 200): broadcasts, or per-user events. */
  sent: number;
  sendErrors: number;
  /** Scheduled sends not made because 64 were already unanswered (the server fell behind). */
  sendsSkipped: number;
  /** From the first send to the last delivery (or the drain timeout), seconds. */
  seconds: number;
  sendsPerS: number;
  deliveries: number;
  deliveriesPerS: number;
  expectedDeliveries: number;
  /** Sum over subscribers of events addressed to them they never got. */
  missing: number;
  /** Deliveries of an id the subscriber already had (or out of order). */
  duplicates: number;
  /** Subscribers that got at least one event too few. */
  subscribersMissing: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  serverCpuS: number;
  serverCpuUsPerDelivery: number;
  /** Share of one core the server used over the phase. */
  serverCpuShare: number;
  /** Share of one core the load generator used (near 1 means the load, not the server, was the limit). */
  loadCpuShare: number;
  /** Storage writes the server caused, KiB per accepted send. */
  serverDiskWriteKiBPerSend: number;
  /** Share of the server's core used by other processes (noise; NaN when not pinned). */
  otherCpuShareOnServerCore: number;
  /** Whether every expected delivery arrived before the drain timeout. */
  drained: boolean;
}

export interface TargetResult {
  label: string;
  transport: Transport;
  address: Address;
  subscribers: number;
  /** Bytes of one event's JSON as the subscribers received it. */
  eventJsonBytes: number;
  connectSeconds: number;
  rssBeforeKiB: number;
  /** After the first batch of subscriptions. */
  rssIdleKiB: number;
  /** After a second batch as large. */
  rssMoreKiB: number;
  /** The first batch's growth per subscription, one-off growth included. */
  firstKiBPerSubscription: number;
  /** The second batch's growth per subscription: what one more idle subscription costs. */
  idleKiBPerSubscription: number;
  /**
   * The same growth as read before a full collection (with the garbage opening them left);
   * every RSS figure above is read after one (bench/heap.ts).
   */
  uncollectedKiBPerSubscription: number;
  /** Subscriptions that failed to open (HTTP status, error event, socket error). */
  connectFailures: number;
  /** Subscriptions that ended before the run did. */
  streamsLost: number;
  fixed: PhaseResult;
  flat: PhaseResult;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resident set size of a process, KiB (from /proc/<pid>/status). */
export function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!match?.[1]) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]);
}

let clockTicks: number | null = null;
function ticksPerSecond(): number {
  if (clockTicks === null) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** CPU seconds (user + system, all threads) a process has used so far, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
}

/** Bytes a process has caused to be written to storage so far (/proc/<pid>/io). */
export function diskWriteBytes(pid: number): number {
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  return Number(/^write_bytes:\s+(\d+)/m.exec(io)?.[1] ?? NaN);
}

/** CPU seconds one core has spent busy (not idle or iowait) since boot, from /proc/stat. */
export function coreBusySeconds(cpu: number): number {
  const line = readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`cpu${cpu} `));
  if (!line) return NaN;
  const [user, nice, system, , , irq, softirq, steal] = line.split(/\s+/).slice(1).map(Number);
  return (
    ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) /
    ticksPerSecond()
  );
}

/** `--name value` and `--flag` from argv. */
export function parseFlags(argv: string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg?.startsWith('--')) throw new Error(`unexpected argument '${arg}'`);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) flags.set(arg.slice(2), 'true');
    else {
      flags.set(arg.slice(2), next);
      i++;
    }
  }
  return flags;
}

/** `parseFlags`, refusing any flag not in `allowed` with a usage line. */
export function parseKnownFlags(
  argv: string[],
  allowed: readonly string[],
  usage: string,
): Map<string, string> {
  const flags = parseFlags(argv);
  for (const name of flags.keys()) {
    if (!allowed.includes(name)) throw new Error(`unknown flag --${name} (use ${usage})`);
  }
  return flags;
}

export function numberFlag(flags: Map<string, string>, name: string, fallback: number): number {
  const raw = flags.get(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
  return value;
}

/**
 * The notification text every broadcast carries: with its id, severity, timestamps and
 * nulls the event's JSON is ~200 bytes, as in the transport measurements.
 */
export const EVENT_TITLE = 'Checkout p99 over 2 s on eu-west-1';
export const EVENT_BODY = 'Since 09:41 UTC p99 is 2.3 s against an SLO of 800 ms.';
