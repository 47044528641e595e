/**
 * What the two notification baselines share (bench/baseline-server.ts over SSE,
 * bench/ws-baseline-server.ts over raw `ws`): who each member token is, the subscribers by user,
 * and `POST /trpc/notifications.send`, which builds each event's JSON once and hands it to the
 * server's own delivery with the subscribers it is for: everyone, or the users named in
 * `to.usernames`. Nothing else is loaded, so the baselines' memory stays theirs.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { basename } from 'node:path';
import type { BenchCredentials } from './common.ts';

export const SUBSCRIBE_PATH = '/trpc/notifications.onNotification';
export const SEND_PATH = '/trpc/notifications.send';

export const bearer = (header: string | undefined): string | null =>
  header?.startsWith('Bearer ') ? header.slice(7) : null;

export function reply(res: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(json),
  });
  res.end(json);
}

const NOBODY: ReadonlySet<never> = new Set();

/**
 * Open subscriptions: one Set of all for broadcasts (iterated as the classic server does) and
 * one Set per user (a user may have several, and an old one may close after a new one opened).
 */
export class Subscribers<C> {
  readonly all = new Set<C>();
  private readonly byUser = new Map<string, Set<C>>();

  add(username: string, client: C): void {
    this.all.add(client);
    let own = this.byUser.get(username);
    if (!own) this.byUser.set(username, (own = new Set()));
    own.add(client);
  }

  delete(username: string, client: C): void {
    this.all.delete(client);
    this.byUser.get(username)?.delete(client);
  }

  /** The subscriptions of the users named (the Set itself for one user: nothing is copied). */
  of(usernames: string[]): ReadonlySet<C> {
    if (usernames.length === 1) return this.byUser.get(usernames[0] ?? '') ?? NOBODY;
    return new Set(usernames.flatMap((u) => [...(this.byUser.get(u) ?? NOBODY)]));
  }
}

interface SendInput {
  to?: { usernames?: string[] };
  title?: string;
  body?: string;
  severity?: string;
  link?: string | null;
}

/** An event as every subscriber receives it: its id and its JSON (~210 bytes). */
export interface BaselineEvent {
  id: string;
  json: string;
}

/** What a baseline knows: the credentials, who each member token is, the open subscriptions. */
export interface Baseline<C> {
  creds: BenchCredentials;
  /** Member token → username. */
  memberOf: ReadonlyMap<string, string>;
  usernames: ReadonlySet<string>;
  subscribers: Subscribers<C>;
}

/** A baseline's state from the credentials file named by its first argument. */
export function loadBaseline<C>(): Baseline<C> {
  const file = process.argv[2];
  if (!file) throw new Error(`usage: ${basename(process.argv[1] ?? '')} <credentials.json>`);
  const creds = JSON.parse(readFileSync(file, 'utf8')) as BenchCredentials;
  return {
    creds,
    memberOf: new Map(creds.memberTokens.map((t, i) => [t, creds.memberUsernames[i] ?? ''])),
    usernames: new Set(creds.memberUsernames),
    subscribers: new Subscribers(),
  };
}

let seq = 0;

/**
 * `POST /trpc/notifications.send` with the admin's token: `to: { usernames }` goes to those
 * users' subscriptions (an unknown name answers 404, as Pulse's NOT_FOUND), anything else to
 * everyone. The event is built once and `deliver`ed; the answer counts the subscriptions.
 */
export function handleSend<C>(
  req: IncomingMessage,
  res: ServerResponse,
  baseline: Baseline<C>,
  deliver: (event: BaselineEvent, to: ReadonlySet<C>) => void,
): void {
  if (bearer(req.headers.authorization) !== baseline.creds.adminToken) {
    return reply(res, 401, { error: 'unauthorized' });
  }
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk: string) => (body += chunk));
  req.on('end', () => {
    let input: SendInput;
    try {
      input = JSON.parse(body) as SendInput;
    } catch {
      return reply(res, 400, { error: 'bad json' });
    }
    const usernames = input.to?.usernames;
    let to: ReadonlySet<C> = baseline.subscribers.all;
    if (Array.isArray(usernames)) {
      const unknown = usernames.find((u) => typeof u !== 'string' || !baseline.usernames.has(u));
      if (unknown !== undefined) return reply(res, 404, { error: `no user '${unknown}'` });
      to = baseline.subscribers.of(usernames);
    }
    const notification = {
      id: `ntf_${++seq}`,
      title: input.title ?? '',
      body: input.body ?? '',
      severity: input.severity ?? 'info',
      link: typeof input.link === 'string' ? input.link : null,
      createdAt: new Date().toISOString(),
      readAt: null,
    };
    deliver({ id: notification.id, json: JSON.stringify(notification) }, to);
    reply(res, 200, { result: { data: { count: to.size } } });
  });
}
