import { TRPCClientError } from '@trpc/client';
import { describe, expect, it } from 'vitest';
import type { AppRouter } from '../../src/server/router.ts';
import { OPS } from '../support/people.ts';
import { startTestServer } from '../support/server.ts';

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TRPCClientError)
      return String((error as TRPCClientError<AppRouter>).data?.code);
    throw error;
  }
  return 'OK';
}

describe('users.person: people by name', () => {
  it('names any user by id to any signed-in user, disabled ones too, and answers null for no user', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const elsewhere = await t.createTeamWithMembers({
      name: 'payments',
      members: [{ username: 'dave', displayName: 'Dave Ruiz' }],
    });
    const dave = elsewhere.member('dave');
    const bob = t.team('ops').member('bob');
    const alice = await t.client({ username: 'alice' });

    // A teammate, and someone of a team alice is not in (an admin who acted, a former member).
    expect(await alice.users.person.query({ userId: bob.id })).toEqual({
      userId: bob.id,
      username: 'bob',
      displayName: 'Bob Okafor',
    });
    expect(await alice.users.person.query({ userId: dave.id })).toMatchObject({
      displayName: 'Dave Ruiz',
    });
    const admin = await t.client({ username: 'admin' });
    await admin.users.setDisabled.mutate({ userId: dave.id, disabled: true });
    expect(await alice.users.person.query({ userId: dave.id })).toMatchObject({
      displayName: 'Dave Ruiz',
    });

    expect(await alice.users.person.query({ userId: 'usr_nobody' })).toBeNull();
  });

  it('refuses callers without credentials and malformed ids', async () => {
    await using t = await startTestServer({}, { teams: [OPS] });
    const bob = t.team('ops').member('bob');
    const anonymous = await t.client(null);
    expect(await codeOf(anonymous.users.person.query({ userId: bob.id }))).toBe('UNAUTHORIZED');
    const alice = await t.client({ username: 'alice' });
    expect(await codeOf(alice.users.person.query({ userId: '' }))).toBe('BAD_REQUEST');
    expect(await codeOf(alice.users.person.query({ userId: 'x'.repeat(101) }))).toBe('BAD_REQUEST');
  });
});
