import {
  incidentStatusSchema,
  type Incident,
  type IncidentStatus,
} from '../../shared/schemas/incidents.ts';
import type { PulseClient } from '../../sdk/client.ts';
import { allPages } from '../../sdk/pages.ts';
import { defineCommand } from '../command.ts';
import { CliError, describeError, errorCode, UsageError } from '../errors.ts';
import { oneLine, table } from '../format.ts';

function parseStatus(value: string | undefined): IncidentStatus | undefined {
  if (value === undefined) return undefined;
  const parsed = incidentStatusSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new UsageError(
    `--status '${value}' is not one of ${incidentStatusSchema.options.join(', ')}`,
  );
}

/**
 * Usernames by user id, as far as the caller may know them: everyone for admins
 * (`users.list`), only themselves for members.
 */
async function knownUsernames(pulse: PulseClient): Promise<Map<string, string>> {
  const me = await pulse.auth.me.query();
  const users = me.role === 'admin' ? await allPages((page) => pulse.users.list.query(page)) : [me];
  return new Map(users.map((u) => [u.id, u.username]));
}

export const formatIncidents = (
  incidents: readonly Incident[],
  usernames: ReadonlyMap<string, string>,
): string[] =>
  table([
    ['ID', 'STATUS', 'SEVERITY', 'VERSION', 'ASSIGNEE', 'OPENED', 'TITLE'],
    ...incidents.map((i) => [
      i.id,
      i.status,
      i.severity,
      String(i.version),
      i.assigneeId === null ? '-' : (usernames.get(i.assigneeId) ?? i.assigneeId),
      i.openedAt,
      oneLine(i.title),
    ]),
  ]);

export const incidentsCommand = defineCommand({
  path: ['incidents'],
  args: [],
  usage: '[--status open|acknowledged|resolved] [--json]',
  summary: 'List the incidents you may see (your teams; all for admins), newest first',
  details: [
    'One line per incident: id, status, severity, version, assignee, opened time, title',
    '(all of them, read a page at a time). With --json, one Incident object per line',
    '(NDJSON), as the API returns it. Assignees show by username where you may know it',
    '(admins: everyone; members: themselves), else by user id.',
    '',
    'Options:',
    '  --status S   only incidents in status S: open, acknowledged or resolved',
  ],
  options: { status: { type: 'string' } },
  async run({ values, client, out }) {
    const status = parseStatus(values.status);
    const pulse = client();
    const incidents = await allPages((page) =>
      pulse.incidents.list.query(status ? { ...page, status } : page),
    );
    if (values.json) {
      for (const incident of incidents) out(JSON.stringify(incident));
      return;
    }
    if (incidents.length === 0) return out(status ? `No ${status} incidents.` : 'No incidents.');
    for (const line of formatIncidents(incidents, await knownUsernames(pulse))) out(line);
  },
});

/** One incident change at the incident's current version, as `incidents.get` reads it. */
function changeCommand(opts: {
  word: 'ack' | 'resolve';
  summary: string;
  done: string;
  change: (pulse: PulseClient, input: { id: string; version: number }) => Promise<Incident>;
}) {
  return defineCommand({
    path: [opts.word],
    args: ['ID'],
    usage: 'ID',
    summary: opts.summary,
    details: [
      "Reads the incident's current version, then changes it at that version. If it changed",
      'meanwhile, or its status does not allow this, the server answers CONFLICT with the',
      'current state, nothing changes, and the exit code is 1. Prints the new state; with',
      '--json, the Incident. Incidents of teams you are not in answer NOT_FOUND.',
    ],
    options: {},
    async run({ values, args: [id = ''], client, out }) {
      const pulse = client();
      const { version } = await pulse.incidents.get.query({ id });
      const incident = await opts.change(pulse, { id, version });
      out(
        values.json
          ? JSON.stringify(incident)
          : `${opts.done} ${incident.id}: now ${incident.status}, version ${incident.version}.`,
      );
    },
  });
}

export const ackCommand = changeCommand({
  word: 'ack',
  summary: 'Acknowledge an open incident',
  done: 'Acknowledged',
  change: (pulse, input) => pulse.incidents.acknowledge.mutate(input),
});

export const resolveCommand = changeCommand({
  word: 'resolve',
  summary: 'Resolve an open or acknowledged incident',
  done: 'Resolved',
  change: (pulse, input) => pulse.incidents.resolve.mutate(input),
});

/**
 * The user `who` names: a username or a user id. Admins can look anyone up; members can
 * name themselves by username, and anyone else only by id (which the server then checks).
 */
async function resolveUser(
  pulse: PulseClient,
  who: string,
): Promise<{ id: string; username: string | null }> {
  const me = await pulse.auth.me.query();
  if (who === me.id || who.toLowerCase() === me.username)
    return { id: me.id, username: me.username };
  if (me.role !== 'admin') return { id: who, username: null };
  const users = await allPages((page) => pulse.users.list.query(page));
  const user =
    users.find((u) => u.username === who.toLowerCase()) ?? users.find((u) => u.id === who);
  if (!user) throw new CliError(`NOT_FOUND: No user '${who}'`);
  return { id: user.id, username: user.username };
}

export const assignCommand = defineCommand({
  path: ['assign'],
  args: ['ID', 'USERNAME'],
  usage: 'ID USERNAME|USER_ID',
  summary: 'Assign an incident to someone in its team (they are notified)',
  details: [
    'USERNAME may also be a user id. Only admins may look up other people by username',
    "(users.list is admin-only): members give their own username, or someone else's user",
    'id (they can see it with `pulse whoami --json`). The assignee must be in the',
    "incident's team (or an admin). Like ack and resolve, it changes the incident at the",
    'version it just read: CONFLICT (exit 1) if it changed meanwhile or is resolved.',
  ],
  options: {},
  async run({ values, args: [id = '', who = ''], config, client, out }) {
    const pulse = client();
    const assignee = await resolveUser(pulse, who);
    const { version } = await pulse.incidents.get.query({ id });
    let incident: Incident;
    try {
      incident = await pulse.incidents.assign.mutate({ id, version, assigneeId: assignee.id });
    } catch (error) {
      if (assignee.username === null && errorCode(error) === 'BAD_REQUEST') {
        throw new CliError(
          `${describeError(error, config.url)}\n(No user id '${who}' in this team. Members can ` +
            'name only themselves by username; for someone else, give their user id.)',
        );
      }
      throw error;
    }
    if (values.json) return out(JSON.stringify(incident));
    out(
      `Assigned ${incident.id} to ${assignee.username ?? assignee.id}: version ${incident.version}.`,
    );
  },
});
