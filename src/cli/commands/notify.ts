import { severitySchema, type Severity } from '../../shared/schemas/common.ts';
import type { Recipients } from '../../shared/schemas/notifications.ts';
import { defineCommand } from '../command.ts';
import { UsageError } from '../errors.ts';
import { plural } from '../format.ts';

/** `--to user:a --to user:b`, `--to team:ops` or `--to all`, as `notifications.send` takes them. */
export function parseRecipients(to: readonly string[]): Recipients {
  if (to.length === 0) throw new UsageError('Missing --to user:NAME, team:NAME or all');
  const usernames: string[] = [];
  for (const target of to) {
    if (target === 'all') {
      if (to.length > 1) throw new UsageError('--to all cannot be combined with other --to');
      return { all: true };
    }
    const colon = target.indexOf(':');
    const kind = colon < 0 ? target : target.slice(0, colon);
    const name = colon < 0 ? '' : target.slice(colon + 1);
    if ((kind !== 'user' && kind !== 'team') || !name) {
      throw new UsageError(`--to '${target}': expected user:NAME, team:NAME or all`);
    }
    if (kind === 'team') {
      // notifications.send takes one team, or a list of users, per call.
      if (to.length > 1) throw new UsageError(`--to ${target} cannot be combined with other --to`);
      return { teamName: name };
    }
    usernames.push(name);
  }
  return { usernames };
}

export function parseSeverity(value: string | undefined): Severity {
  const parsed = severitySchema.safeParse(value ?? 'info');
  if (parsed.success) return parsed.data;
  throw new UsageError(`--severity '${value}' is not one of ${severitySchema.options.join(', ')}`);
}

export const notifyCommand = defineCommand({
  path: ['notify'],
  args: [],
  usage:
    '--to user:NAME|team:NAME|all --title T [--body B] [--severity info|warning|critical] [--link L]',
  summary: 'Send a notification (admins, or tokens with the notify scope)',
  details: [
    'Options:',
    '  --to user:NAME   a user; repeat for several (--to user:a --to user:b)',
    '  --to team:NAME   every member of a team',
    '  --to all         everyone',
    '  --title T        up to 200 characters',
    '  --body B         up to 2000 characters (default empty)',
    '  --severity S     info (default), warning or critical',
    '  --link L         a path (/incidents/42) or an http(s) URL',
    'Prints how many people it reached.',
  ],
  options: {
    to: { type: 'string', multiple: true },
    title: { type: 'string' },
    body: { type: 'string' },
    severity: { type: 'string' },
    link: { type: 'string' },
  },
  async run({ values, client, out }) {
    const to = parseRecipients(values.to ?? []);
    const severity = parseSeverity(values.severity);
    if (values.title === undefined) throw new UsageError('Missing --title T');
    const { count } = await client().notifications.send.mutate({
      to,
      title: values.title,
      body: values.body,
      severity,
      link: values.link,
    });
    out(values.json ? JSON.stringify({ count }) : `Sent to ${plural(count, 'recipient')}.`);
  },
});
