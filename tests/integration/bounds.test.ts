import { TRPCError } from '@trpc/server';
import { describe, expect, it } from 'vitest';
import { ZodError } from 'zod';
import { createTestServices } from '../support/caller.ts';

/** The error a call failed with (a TRPCError), or a failure when it did not fail. */
async function refusal(promise: Promise<unknown>): Promise<TRPCError> {
  const outcome = await promise.then(
    () => null,
    (error: unknown) => error,
  );
  if (!(outcome instanceof TRPCError))
    throw new Error(`expected a TRPCError, got ${String(outcome)}`);
  return outcome;
}

describe('notification links', () => {
  it('accepts a path on this site or an absolute http(s) URL, and nothing that only looks like one', async () => {
    await using t = await createTestServices();
    const admin = t.caller('admin');
    const send = (link: string) =>
      admin.notifications.send({
        to: { usernames: ['alice'] },
        title: 'linked',
        severity: 'info',
        link,
      });

    for (const link of [
      '//evil.example',
      '/\\evil.example',
      'javascript:alert(1)',
      ' /x',
      '/x y',
      '/x\n',
      'https://ok.example/a\tb',
      'ftp://files.example/x',
      'https:/evil.example',
      'evil.example/x',
    ]) {
      const error = await refusal(send(link));
      expect(error.code, link).toBe('BAD_REQUEST');
      expect(error.cause, link).toBeInstanceOf(ZodError);
      expect(
        (error.cause as ZodError).issues.map((i) => i.path),
        link,
      ).toEqual([['link']]);
    }
    const stored = await t.caller('alice').notifications.list({ limit: 100 });
    expect(stored.items.map((n) => n.title)).not.toContain('linked');

    for (const link of ['https://ok.example/x', '/incidents/inc_1', 'HTTP://ok.example']) {
      expect(await send(link), link).toEqual({ count: 1 });
    }
    const { items } = await t.caller('alice').notifications.list({ limit: 3 });
    expect(items.map((n) => n.link)).toEqual([
      'HTTP://ok.example',
      '/incidents/inc_1',
      'https://ok.example/x',
    ]);
  });
});

describe('alert rules per team', () => {
  it('stores up to PULSE_MAX_RULES_PER_TEAM rules in a team and refuses the next, naming the limit', async () => {
    await using t = await createTestServices({ PULSE_MAX_RULES_PER_TEAM: '3' });
    const admin = t.caller('admin');
    const alice = t.caller('alice');
    const [ops] = await admin.teams.list();
    const other = await admin.teams.create({ name: 'payments' });
    const rule = (teamId: string, i: number) =>
      ({
        series: `app.q${i}`,
        op: '>',
        threshold: i,
        forSeconds: 60,
        severity: 'warning',
        teamId,
      }) as const;

    const created = [];
    for (let i = 0; i < 3; i++) created.push(await alice.alerts.createRule(rule(ops!.id, i)));
    const error = await refusal(alice.alerts.createRule(rule(ops!.id, 3)));
    expect(error.code).toBe('TOO_MANY_REQUESTS');
    expect(error.message).toBe("Team 'ops' has 3 alert rules, its limit is 3: delete one first");
    expect((await alice.alerts.listRules()).map((r) => r.series)).toEqual([
      'app.q0',
      'app.q1',
      'app.q2',
    ]);

    // Per team: another team still has room; a deleted rule makes room again.
    await admin.alerts.createRule(rule(other.id, 9));
    await alice.alerts.deleteRule({ id: created[0]!.id });
    expect((await alice.alerts.createRule(rule(ops!.id, 4))).series).toBe('app.q4');
  });
});
