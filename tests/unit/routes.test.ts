import { describe, expect, it } from 'vitest';
import { incidentPath, parseRoute } from '../../src/client/features/shell/routes.ts';
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
