/** The pages of the web app, by path. */
export type Route =
  | { name: 'inbox' }
  | { name: 'dashboard' }
  | { name: 'incidents' }
  | { name: 'incident'; id: string }
  | { name: 'chat'; roomId: string | null }
  /** The API explorer, showing one procedure (`notifications.send`) or none yet. */
  | { name: 'explorer'; procedure: string | null }
  | { name: 'not-found'; path: string };

export function parseRoute(path: string): Route {
  const parts = path.split('/').filter(Boolean);
  const [first, second, ...rest] = parts;
  if (first === undefined) return { name: 'inbox' };
  if (first === 'explorer') {
    const names = parts.slice(1).map(decodeURIComponent);
    return { name: 'explorer', procedure: names.length > 0 ? names.join('.') : null };
  }
  if (rest.length === 0) {
    if (first === 'dashboard' && second === undefined) return { name: 'dashboard' };
    if (first === 'incidents') {
      if (second === undefined) return { name: 'incidents' };
      return { name: 'incident', id: decodeURIComponent(second) };
    }
    if (first === 'chat') {
      return { name: 'chat', roomId: second === undefined ? null : decodeURIComponent(second) };
    }
  }
  return { name: 'not-found', path };
}

export { incidentPath } from '../../../shared/paths.ts';

/**
 * Where the API explorer shows a procedure: `notifications.send` at `/explorer/notifications/send`.
 * Not `/explorer/notifications.send`: the server answers a path that looks like a file name
 * with the file or 404, never with the app.
 */
export const explorerPath = (procedure: string) =>
  `/explorer/${procedure.split('.').map(encodeURIComponent).join('/')}`;
