import { severitySchema, type Severity } from '../../shared/schemas/common.ts';
import {
  NOTIFICATION_IDS_MAX,
  NOTIFICATION_PAGE_DEFAULT,
  NOTIFICATION_PAGE_MAX,
} from '../../shared/limits.ts';
import type {
  Notification,
  NotificationListItem,
  NotificationPreferences,
} from '../../shared/schemas/notifications.ts';
import type { PulseClient } from '../../sdk/client.ts';
import { defineCommand } from '../command.ts';
import { CliError, UsageError } from '../errors.ts';
import { oneLine, plural, table } from '../format.ts';

/** `ntf_1,ntf_2`: the ids a triage command names (at most 100). */
function parseIds(arg: string): string[] {
  const ids = arg
    .split(',')
    .map((id) => id.trim())
    .filter(Boolean);
  if (ids.length === 0) throw new UsageError('Missing notification ids (ID or ID,ID,…)');
  if (ids.length > NOTIFICATION_IDS_MAX) {
    throw new UsageError(`At most ${NOTIFICATION_IDS_MAX} ids at a time`);
  }
  return ids;
}

function parseSeverities(values: readonly string[]): Severity[] {
  return values
    .flatMap((v) => v.split(','))
    .map((v) => {
      const parsed = severitySchema.safeParse(v.trim());
      if (parsed.success) return parsed.data;
      throw new UsageError(`--severity '${v}' is not one of ${severitySchema.options.join(', ')}`);
    });
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90m`, `2h`, `1d12h`: a duration in ms. */
export function parseDuration(text: string): number {
  const parts = [...text.matchAll(/(\d+)([smhd])/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) {
    throw new UsageError(`--for '${text}': expected a duration such as 30m, 2h or 1d`);
  }
  return parts.reduce((ms, [, n, unit]) => ms + Number(n) * (UNITS[unit ?? ''] ?? 0), 0);
}

/** A team by id or name, among those the caller may see. */
async function teamId(pulse: PulseClient, team: string): Promise<string> {
  const teams = await pulse.teams.list.query();
  const found = teams.find((t) => t.id === team) ?? teams.find((t) => t.name === team);
  if (!found) throw new CliError(`NOT_FOUND: No team '${team}'`);
  return found.id;
}

/** What state a notification is in, in a word or two. */
function stateOf(n: Notification): string {
  if (n.snoozedUntil !== null) return `snoozed until ${n.snoozedUntil}`;
  const where = n.archivedAt !== null ? 'archived, ' : '';
  const state = n.readAt !== null ? 'read' : n.seenAt !== null ? 'seen' : 'new';
  return `${where}${state}${n.muted ? ', muted' : ''}`;
}

export const formatNotifications = (items: readonly NotificationListItem[]): string[] =>
  table([
    ['ID', 'SEVERITY', 'STATE', 'CREATED', 'TITLE'],
    ...items.map((n) => [
      n.id,
      n.severity,
      stateOf(n),
      n.createdAt,
      n.group
        ? `${oneLine(n.title)} (+${n.group.count - 1} in ${oneLine(n.group.key)})`
        : oneLine(n.title),
    ]),
  ]);

export const notificationsListCommand = defineCommand({
  path: ['notifications', 'list'],
  args: [],
  usage:
    '[--archived | --snoozed] [--unread] [--severity S,…] [--team T] [--search TEXT] [--grouped | --group KEY] [--limit N]',
  summary: 'List your notifications, newest first (the inbox by default)',
  details: [
    'One line per notification: id, severity, state (new, seen, read; archived, snoozed,',
    'muted), created time, title. With --json, one Notification object per line (NDJSON).',
    '',
    'Options:',
    '  --archived      only archived notifications',
    '  --snoozed       only snoozed notifications',
    '  --unread        only unread ones',
    '  --severity S    only these severities (info, warning, critical; comma-separated)',
    '  --team T        only those sent to team T (a name or an id)',
    '  --search TEXT   TEXT in the title or body (case-insensitive)',
    '  --grouped       one line per group of notifications (same group key)',
    '  --group KEY     only the notifications of group KEY',
    `  --limit N       at most N (1..${NOTIFICATION_PAGE_MAX}, default ${NOTIFICATION_PAGE_DEFAULT})`,
  ],
  options: {
    archived: { type: 'boolean' },
    snoozed: { type: 'boolean' },
    unread: { type: 'boolean' },
    severity: { type: 'string', multiple: true },
    team: { type: 'string' },
    search: { type: 'string' },
    grouped: { type: 'boolean' },
    group: { type: 'string' },
    limit: { type: 'string' },
  },
  async run({ values, client, out }) {
    const limit = Number(values.limit ?? NOTIFICATION_PAGE_DEFAULT);
    if (!Number.isInteger(limit) || limit < 1 || limit > NOTIFICATION_PAGE_MAX) {
      throw new UsageError(`--limit '${values.limit}': expected 1..${NOTIFICATION_PAGE_MAX}`);
    }
    const pulse = client();
    const { items } = await pulse.notifications.list.query({
      limit,
      ...(values.archived ? { archived: true } : {}),
      ...(values.snoozed ? { snoozed: true } : {}),
      ...(values.unread ? { unreadOnly: true } : {}),
      ...(values.severity ? { severity: parseSeverities(values.severity) } : {}),
      ...(values.team !== undefined ? { teamId: await teamId(pulse, values.team) } : {}),
      ...(values.search !== undefined ? { search: values.search } : {}),
      ...(values.grouped ? { grouped: true } : {}),
      ...(values.group !== undefined ? { groupKey: values.group } : {}),
    });
    if (values.json) {
      for (const n of items) out(JSON.stringify(n));
      return;
    }
    if (items.length === 0) return out('No notifications.');
    for (const line of formatNotifications(items)) out(line);
  },
});

/** A command that triages the notifications it names and prints those it changed. */
function triageCommand(opts: {
  word: string;
  summary: string;
  done: string;
  details?: string[];
  call: (pulse: PulseClient, ids: string[]) => Promise<{ notifications: Notification[] }>;
}) {
  return defineCommand({
    path: ['notifications', opts.word],
    args: ['IDS'],
    usage: 'ID[,ID…]',
    summary: opts.summary,
    details: [
      `Up to ${NOTIFICATION_IDS_MAX} ids, comma-separated. Prints how many it changed (again`,
      'changes nothing); with --json, each changed Notification (NDJSON). An id that is not',
      'one of yours answers NOT_FOUND and changes nothing.',
      ...(opts.details ?? []),
    ],
    options: {},
    async run({ values, args: [ids = ''], client, out }) {
      const { notifications } = await opts.call(client(), parseIds(ids));
      if (values.json) for (const n of notifications) out(JSON.stringify(n));
      else out(`${opts.done} ${plural(notifications.length, 'notification')}.`);
    },
  });
}

export const notificationsArchiveCommand = triageCommand({
  word: 'archive',
  summary: 'Archive notifications (they leave the inbox)',
  done: 'Archived',
  call: (pulse, ids) => pulse.notifications.archive.mutate({ ids }),
});

export const notificationsUnarchiveCommand = triageCommand({
  word: 'unarchive',
  summary: 'Bring archived notifications back to the inbox',
  done: 'Unarchived',
  call: (pulse, ids) => pulse.notifications.unarchive.mutate({ ids }),
});

export const notificationsUnsnoozeCommand = triageCommand({
  word: 'unsnooze',
  summary: 'End the snooze of notifications now (back where they were)',
  done: 'Unsnoozed',
  call: (pulse, ids) => pulse.notifications.unsnooze.mutate({ ids }),
});

export const notificationsSnoozeCommand = defineCommand({
  path: ['notifications', 'snooze'],
  args: ['IDS'],
  usage: 'ID[,ID…] --for DURATION | --until TIME',
  summary: 'Snooze notifications: they come back as new later',
  details: [
    'They leave the inbox until then, and come back unread and unseen, at its top.',
    '',
    'Options:',
    '  --for DURATION   how long: 30m, 2h, 1d, 1d12h (at most 90 days)',
    '  --until TIME     until an ISO time (2030-01-01T09:00:00Z)',
  ],
  options: { for: { type: 'string' }, until: { type: 'string' } },
  async run({ values, args: [ids = ''], client, out }) {
    if ((values.for === undefined) === (values.until === undefined)) {
      throw new UsageError('Give one of --for DURATION or --until TIME');
    }
    const until =
      values.for !== undefined
        ? new Date(Date.now() + parseDuration(values.for)).toISOString()
        : (values.until ?? '');
    const { notifications } = await client().notifications.snooze.mutate({
      ids: parseIds(ids),
      until,
    });
    if (values.json) for (const n of notifications) out(JSON.stringify(n));
    else out(`Snoozed ${plural(notifications.length, 'notification')} until ${until}.`);
  },
});

export const notificationsSeenCommand = defineCommand({
  path: ['notifications', 'seen'],
  args: [],
  optionalArgs: ['ID'],
  usage: '[ID]',
  summary: 'Mark your inbox seen (up to ID; by default all of it), clearing the badge',
  details: ['Seen is not read: read stays explicit. Prints how many it marked seen.'],
  options: {},
  async run({ values, args: [id], client, out }) {
    const pulse = client();
    const upTo = id ?? (await pulse.notifications.list.query({ limit: 1 })).items[0]?.id;
    if (upTo === undefined)
      return out(values.json ? JSON.stringify({ count: 0 }) : 'Nothing to see.');
    const { count } = await pulse.notifications.markSeen.mutate({ upTo });
    out(values.json ? JSON.stringify({ count }) : `Marked ${plural(count, 'notification')} seen.`);
  },
});

function formatPreferences(p: NotificationPreferences, teamNames: Map<string, string>): string[] {
  const list = (items: readonly string[]) => (items.length === 0 ? '-' : items.join(', '));
  return [
    `muted severities: ${list(p.mutedSeverities)}`,
    `muted teams:      ${list(p.mutedTeamIds.map((id) => teamNames.get(id) ?? id))}`,
    `muted groups:     ${list(p.mutedGroupKeys)}`,
    `quiet hours:      ${p.quietHours ? `${p.quietHours.start}-${p.quietHours.end} ${p.quietHours.timeZone}` : '-'}`,
  ];
}

export const notificationsPrefsCommand = defineCommand({
  path: ['notifications', 'prefs'],
  args: [],
  usage:
    '[--mute-severity S,…] [--mute-team T]… [--mute-group KEY]… [--unmute-all] [--quiet HH:MM-HH:MM [--tz ZONE] | --no-quiet]',
  summary: 'Show your notification preferences, or change them',
  details: [
    'Without options, shows them. Each option given replaces that setting; the others stay.',
    'Muted notifications are kept and listed but not pushed, and do not count on the badge;',
    'critical ones are never muted. Quiet hours hold back the badge and desktop alerts of',
    'non-critical notifications.',
    '',
    'Options:',
    '  --mute-severity S   mute info and/or warning (comma-separated)',
    '  --mute-team T       mute notifications sent to team T (name or id); repeat for more',
    '  --mute-group KEY    mute a group key; repeat for more',
    '  --unmute-all        mute nothing',
    '  --quiet A-B         quiet hours from A to B (HH:MM, past midnight if A is after B)',
    "  --tz ZONE           their time zone (an IANA name; default: this machine's)",
    '  --no-quiet          no quiet hours',
  ],
  options: {
    'mute-severity': { type: 'string', multiple: true },
    'mute-team': { type: 'string', multiple: true },
    'mute-group': { type: 'string', multiple: true },
    'unmute-all': { type: 'boolean' },
    quiet: { type: 'string' },
    tz: { type: 'string' },
    'no-quiet': { type: 'boolean' },
  },
  async run({ values, client, out }) {
    const pulse = client();
    let prefs = await pulse.notifications.preferences.query();
    const changes = [
      'mute-severity',
      'mute-team',
      'mute-group',
      'unmute-all',
      'quiet',
      'tz',
      'no-quiet',
    ].some((key) => values[key as keyof typeof values] !== undefined);
    if (changes) {
      if (values.quiet !== undefined && values['no-quiet']) {
        throw new UsageError('--quiet and --no-quiet cannot be combined');
      }
      if (values.tz !== undefined && values.quiet === undefined) {
        throw new UsageError('--tz goes with --quiet A-B');
      }
      const next = { ...prefs };
      if (values['unmute-all']) {
        next.mutedSeverities = [];
        next.mutedTeamIds = [];
        next.mutedGroupKeys = [];
      }
      if (values['mute-severity']) {
        next.mutedSeverities = parseSeverities(values['mute-severity']).map((s) => {
          if (s === 'critical') throw new UsageError('critical notifications cannot be muted');
          return s;
        });
      }
      if (values['mute-team']) {
        next.mutedTeamIds = await Promise.all(values['mute-team'].map((t) => teamId(pulse, t)));
      }
      if (values['mute-group']) next.mutedGroupKeys = values['mute-group'];
      if (values['no-quiet']) next.quietHours = null;
      if (values.quiet !== undefined) {
        const match = /^(\d\d:\d\d)-(\d\d:\d\d)$/.exec(values.quiet);
        if (!match) throw new UsageError(`--quiet '${values.quiet}': expected HH:MM-HH:MM`);
        next.quietHours = {
          start: match[1] ?? '',
          end: match[2] ?? '',
          timeZone: values.tz ?? Intl.DateTimeFormat().resolvedOptions().timeZone,
        };
      }
      prefs = await pulse.notifications.setPreferences.mutate(next);
    }
    if (values.json) return out(JSON.stringify(prefs));
    const teams = prefs.mutedTeamIds.length > 0 ? await pulse.teams.list.query() : [];
    for (const line of formatPreferences(prefs, new Map(teams.map((t) => [t.id, t.name])))) {
      out(line);
    }
  },
});
