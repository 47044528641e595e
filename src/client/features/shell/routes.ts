/** The pages of the web app, by path. */
export type Route =
  | { name: 'inbox' }
  | { name: 'dashboard' }
  | { name: 'incidents' }
  | { name: 'incident'; id: string }
  | { name: 'chat'; roomId: string | null }
  | { name: 'not-found'; path: string };

export function parseRoute(path: string): Route {
  const parts = path.split('/').filter(Boolean);
  const [first, second, ...rest] = parts;
  if (first === undefined) return { name: 'inbox' };
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
