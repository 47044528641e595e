import type { Notification } from '../../shared/schemas/notifications.ts';
import { defineCommand } from '../command.ts';
import { errorCode } from '../errors.ts';
import { follow } from '../follow.ts';
import { oneLine } from '../format.ts';

export const formatNotification = (n: Notification): string =>
  `${n.createdAt}  ${n.severity.padEnd(8)}  ${oneLine(n.title)}  ${n.id}`;

export const tailCommand = defineCommand({
  path: ['tail'],
  args: [],
  usage: '[--json] [--since ID]',
  summary: 'Print your notifications live as they arrive, until Ctrl-C',
  details: [
    'One line per notification: time, severity, title, id; with --json, one JSON object per',
    'line (NDJSON). Survives disconnects and server restarts: it resumes from the last',
    'notification it printed, so nothing is lost or printed twice. Connection changes',
    '(connecting, connected, reconnecting) go to stderr.',
    '',
    'Options:',
    '  --since ID   first print your notifications newer than notification ID, then go on live',
    '               (an ID it cannot resume from: a warning, then only new ones)',
  ],
  options: { since: { type: 'string' } },
  async run({ values, config, client, out, note }) {
    const pulse = client();
    let from = values.since ?? null;
    if (from === null) {
      // Resume from the newest notification that exists now, so that even a disconnect before
      // the first event loses nothing. Unreachable server: start anyway; the stream keeps trying.
      try {
        from = (await pulse.notifications.list.query({ limit: 1 })).items[0]?.id ?? null;
      } catch (error) {
        if (errorCode(error) !== undefined) throw error;
      }
    }

    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      await follow<Notification>({
        url: config.url,
        lastEventId: from,
        signal: stop.signal,
        open: (lastEventId, observer) =>
          pulse.notifications.onNotification.subscribe(
            lastEventId ? { lastEventId } : undefined,
            observer,
          ),
        onEvent: (_id, notification) =>
          out(values.json ? JSON.stringify(notification) : formatNotification(notification)),
        onState: (state, reason) =>
          note(
            `${state}${state === 'connecting' ? ` to ${config.url}` : ''}${reason ? ` (${reason})` : ''}`,
          ),
        onWarning: (message) => note(`warning: ${message}`),
      });
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
});
