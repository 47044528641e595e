// @vitest-environment happy-dom
import { cleanup, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { PresenceAvatars } from '../../src/client/features/chat/presence-avatars.tsx';
import type { Person } from '../../src/shared/schemas/chat.ts';

afterEach(cleanup);

const person = (i: number): Person => ({
  userId: `usr_${i}`,
  username: `user-${i}`,
  displayName: `User ${i}`,
});

describe('presence avatars', () => {
  it('shows everyone in a small room, and says how many are here', () => {
    render(<PresenceAvatars people={[person(1), person(2)]} count={2} me="usr_1" stale={false} />);
    expect(screen.getAllByTestId('presence-avatar').map((a) => a.dataset['username'])).toEqual([
      'user-1',
      'user-2',
    ]);
    expect(screen.getByTestId('presence').getAttribute('aria-label')).toBe('2 here now');
    expect(screen.queryByTestId('presence-more')).toBeNull();
  });

  it('shows a sample of a big room and how many more are here', () => {
    const sample = Array.from({ length: 20 }, (_, i) => person(i));
    render(<PresenceAvatars people={sample} count={5000} me="usr_0" stale />);
    expect(screen.getAllByTestId('presence-avatar')).toHaveLength(20);
    expect(screen.getByTestId('presence-more').textContent).toBe('+4980');
    expect(screen.getByTestId('presence').getAttribute('aria-label')).toBe(
      '5000 here when last connected',
    );
  });
});
