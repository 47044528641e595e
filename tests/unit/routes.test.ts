import { describe, expect, it } from 'vitest';
import { explorerPath, incidentPath, parseRoute } from '../../src/client/features/shell/routes.ts';
import { linkState } from '../../src/client/transport/live-status.ts';

describe('routes', () => {
  it('maps paths to pages', () => {
    expect(parseRoute('/')).toEqual({ name: 'inbox' });
    expect(parseRoute('/dashboard')).toEqual({ name: 'dashboard' });
    expect(parseRoute('/incidents')).toEqual({ name: 'incidents' });
    expect(parseRoute('/incidents/')).toEqual({ name: 'incidents' });
    expect(parseRoute('/incidents/inc_x')).toEqual({ name: 'incident', id: 'inc_x' });
    expect(parseRoute('/dashboard/more')).toEqual({ name: 'not-found', path: '/dashboard/more' });
  });

  it('opens the page an incident link (from a notification) names', () => {
    const path = incidentPath('inc_a/b');
    expect(parseRoute(path)).toEqual({ name: 'incident', id: 'inc_a/b' });
  });

  it('opens the explorer on a procedure, by a path the server answers with the app', () => {
    expect(parseRoute('/explorer')).toEqual({ name: 'explorer', procedure: null });
    const path = explorerPath('notifications.send');
    // A last segment with a dot would be served as a file (or 404), not as the app.
    expect(path).toBe('/explorer/notifications/send');
    expect(parseRoute(path)).toEqual({ name: 'explorer', procedure: 'notifications.send' });
  });
});

describe('the SSE indicator across streams', () => {
  it('is connected only when every open stream is', () => {
    expect(linkState(true, true, ['pending', 'pending'])).toBe('connected');
    expect(linkState(true, true, ['pending', 'connecting'])).toBe('reconnecting');
    expect(linkState(true, false, ['connecting'])).toBe('connecting');
    expect(linkState(true, true, ['pending', 'error'])).toBe('offline');
    expect(linkState(false, true, ['pending'])).toBe('offline');
    expect(linkState(true, false, [])).toBe('connecting');
  });
});
