import { tracked, type TRPCRouterRecord } from '@trpc/server';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { compareContracts, formatDifference } from '../../scripts/api/compare.ts';
import { contractOf, pulseContract } from '../../scripts/api/contract.ts';
import { renderReference } from '../../scripts/api/reference.ts';
import {
  adminProcedure,
  authedProcedure,
  publicProcedure,
  router,
} from '../../src/server/platform/trpc.ts';

/**
 * The breaking-change check on pairs of small real routers, each turned into a contract by the
 * generator `npm run api:check` uses: what each kind of change does to existing clients, and to
 * a new client meeting an instance not yet upgraded.
 */

const contract = (record: TRPCRouterRecord) => contractOf(router(record), '1.0.0');

/** The differences from one router to the next, as impact, procedure and place. */
function differences(before: TRPCRouterRecord, after: TRPCRouterRecord) {
  return compareContracts(contract(before), contract(after)).map(
    ({ impact, procedure, at, change }) => ({ impact, procedure, at, change }),
  );
}

/** A resolver for procedures that are only read, never called. */
const never = (): never => {
  throw new Error('the contract reads definitions; no procedure runs');
};
const done = z.object({ ok: z.boolean() });
const user = z.object({ id: z.string(), name: z.string(), role: z.enum(['admin', 'member']) });

describe('outputs', () => {
  it('breaks existing clients when a field is removed, and names it by its path', () => {
    const before = {
      list: publicProcedure.output(z.object({ items: z.array(user) })).query(never),
    };
    const after = {
      list: publicProcedure
        .output(z.object({ items: z.array(user.omit({ name: true })) }))
        .query(never),
    };
    const found = compareContracts(contract(before), contract(after));
    expect(found).toEqual([
      expect.objectContaining({
        impact: 'breaking',
        procedure: 'list',
        at: 'output.items[].name',
        change: 'field removed',
      }),
    ]);
    expect(formatDifference(found[0]!)).toMatch(
      /^BREAKING {2}list output\.items\[\]\.name: field removed\n {4}Existing clients .* read a field it no longer sends\.$/,
    );
  });

  it('adds a field without breaking anyone, warning new clients of instances not yet upgraded', () => {
    const after = { me: publicProcedure.output(user.extend({ email: z.string() })).query(never) };
    const found = compareContracts(
      contract({ me: publicProcedure.output(user).query(never) }),
      contract(after),
    );
    expect(found).toEqual([expect.objectContaining({ impact: 'additive', at: 'output.email' })]);
    expect(found[0]?.clients).toMatch(/rolling deploy.*not yet upgraded does not get it/);
  });

  it('breaks clients when an enum widens, a field becomes nullable or optional, and not when they narrow', () => {
    const wide = z.object({
      role: z.enum(['admin', 'member', 'guest']),
      name: z.string().nullable(),
      id: z.string().optional(),
    });
    const narrow = z.object({
      role: z.enum(['admin', 'member']),
      name: z.string(),
      id: z.string(),
    });
    expect(
      differences(
        { me: publicProcedure.output(narrow).query(never) },
        { me: publicProcedure.output(wide).query(never) },
      ),
    ).toEqual([
      { impact: 'breaking', procedure: 'me', at: 'output.id', change: 'now optional' },
      { impact: 'breaking', procedure: 'me', at: 'output.name', change: 'now nullable' },
      { impact: 'breaking', procedure: 'me', at: 'output.role', change: '"guest" added' },
    ]);
    expect(
      differences(
        { me: publicProcedure.output(wide).query(never) },
        { me: publicProcedure.output(narrow).query(never) },
      ).map((d) => d.impact),
    ).toEqual(['additive', 'additive', 'additive']);
  });
});

describe('inputs', () => {
  const send = (input: z.ZodType) => ({
    send: publicProcedure.input(input).output(done).mutation(never),
  });
  const base = z.object({ title: z.string().max(200), severity: z.enum(['info', 'warning']) });

  it('breaks existing clients with a new required field, and not with a new optional one', () => {
    expect(differences(send(base), send(base.extend({ teamId: z.string() })))).toEqual([
      {
        impact: 'breaking',
        procedure: 'send',
        at: 'input.teamId',
        change: 'required field added',
      },
    ]);
    const found = compareContracts(
      contract(send(base)),
      contract(send(base.extend({ link: z.string().optional() }))),
    );
    expect(found).toEqual([
      expect.objectContaining({
        impact: 'additive',
        at: 'input.link',
        change: 'optional field added',
      }),
    ]);
    // An old instance drops the field it does not know: the new client must not rely on it yet.
    expect(found[0]?.clients).toMatch(/not yet upgraded has it ignored/);
  });

  it('breaks existing clients when an enum narrows or a limit tightens; the reverse is additive', () => {
    const tight = z.object({ title: z.string().max(100), severity: z.enum(['info']) });
    expect(differences(send(base), send(tight))).toEqual([
      { impact: 'breaking', procedure: 'send', at: 'input.severity', change: '"warning" removed' },
      { impact: 'breaking', procedure: 'send', at: 'input.title', change: 'maxLength 200 → 100' },
    ]);
    expect(differences(send(tight), send(base)).map((d) => d.impact)).toEqual([
      'additive',
      'additive',
    ]);
  });

  it('follows unions of objects by their fields, and array items', () => {
    const to = (max: number) =>
      z.object({
        to: z.union([
          z.object({ userIds: z.array(z.string()).max(max) }).strict(),
          z.object({ all: z.literal(true) }).strict(),
        ]),
      });
    expect(differences(send(to(1000)), send(to(10)))).toEqual([
      {
        impact: 'breaking',
        procedure: 'send',
        at: 'input.to.userIds',
        change: 'maxItems 1000 → 10',
      },
    ]);
    const withTeam = z.object({
      to: z.union([
        z.object({ userIds: z.array(z.string()).max(1000) }).strict(),
        z.object({ all: z.literal(true) }).strict(),
        z.object({ teamId: z.string() }).strict(),
      ]),
    });
    expect(differences(send(to(1000)), send(withTeam))).toEqual([
      {
        impact: 'additive',
        procedure: 'send',
        at: 'input.to',
        change: 'object { teamId } now allowed',
      },
    ]);
  });

  it('breaks clients when a default changes or the input may no longer be left out', () => {
    const page = (limit: number) => z.object({ limit: z.number().int().default(limit) });
    expect(
      differences(
        { list: publicProcedure.input(page(20)).output(done).query(never) },
        { list: publicProcedure.input(page(50)).output(done).query(never) },
      ),
    ).toEqual([
      { impact: 'breaking', procedure: 'list', at: 'input.limit', change: 'default 20 → 50' },
    ]);
    expect(
      differences(
        { list: publicProcedure.input(page(20).optional()).output(done).query(never) },
        { list: publicProcedure.input(page(20)).output(done).query(never) },
      ),
    ).toEqual([
      { impact: 'breaking', procedure: 'list', at: 'input', change: 'input now required' },
    ]);
  });
});

describe('procedures', () => {
  const health = publicProcedure.output(done).query(never);

  it('breaks clients when one is removed, and warns new clients when one is added', () => {
    expect(differences({ health, stats: health }, { health })).toEqual([
      { impact: 'breaking', procedure: 'stats', at: '', change: 'procedure removed' },
    ]);
    const found = compareContracts(contract({ health }), contract({ health, stats: health }));
    expect(found).toEqual([
      expect.objectContaining({
        impact: 'additive',
        procedure: 'stats',
        change: 'procedure added',
      }),
    ]);
    expect(found[0]?.clients).toMatch(/not yet upgraded gets NOT_FOUND/);
  });

  it('breaks clients when access or scope tightens; wider access is additive', () => {
    const stats = (p: typeof publicProcedure) => ({
      stats: p.output(done).query(never),
    });
    expect(differences(stats(publicProcedure), stats(authedProcedure))).toEqual([
      { impact: 'breaking', procedure: 'stats', at: 'access', change: 'public → user' },
    ]);
    expect(differences(stats(authedProcedure), stats(adminProcedure))).toEqual([
      { impact: 'breaking', procedure: 'stats', at: 'access', change: 'user → admin' },
    ]);
    expect(differences(stats(adminProcedure), stats(authedProcedure))).toEqual([
      { impact: 'additive', procedure: 'stats', at: 'access', change: 'admin → user' },
    ]);
    expect(
      differences(
        { ingest: authedProcedure.output(done).mutation(never) },
        { ingest: authedProcedure.meta({ scope: 'ingest' }).output(done).mutation(never) },
      ),
    ).toEqual([{ impact: 'breaking', procedure: 'ingest', at: 'scope', change: 'write → ingest' }]);
  });

  it('breaks clients when a stream changes between tracked and untracked, or a query becomes a mutation', () => {
    const event = z.object({ id: z.string() });
    const stream = (isTracked: boolean) => ({
      onEvent: publicProcedure
        .meta({ yields: event, tracked: isTracked })
        .subscription(async function* () {
          yield tracked('1', { id: '1' });
        }),
    });
    expect(differences(stream(true), stream(false))).toEqual([
      {
        impact: 'breaking',
        procedure: 'onEvent',
        at: 'tracked',
        change: 'tracked → untracked',
      },
    ]);
    expect(
      differences({ health }, { health: publicProcedure.output(done).mutation(never) }),
    ).toEqual([
      { impact: 'breaking', procedure: 'health', at: 'type', change: 'query → mutation' },
    ]);
  });

  it('counts descriptions and deprecation as documentation only', () => {
    const described = {
      health: publicProcedure
        .meta({
          description: 'Answers anyone.',
          deprecated: { reason: 'Superseded.', replacement: 'system.health' },
        })
        .output(z.object({ ok: z.boolean().describe('Always true.') }))
        .query(never),
    };
    expect(differences({ health }, described)).toEqual([
      {
        impact: 'docs',
        procedure: 'health',
        at: 'deprecated',
        change: 'now deprecated: Superseded.',
      },
      { impact: 'docs', procedure: 'health', at: 'description', change: 'description added' },
      { impact: 'docs', procedure: 'health', at: 'output.ok', change: 'description added' },
    ]);
  });
});

describe('the generator', () => {
  it('refuses a subscription that does not say what it yields and whether it is tracked', () => {
    async function* numbers() {
      yield 1;
    }
    expect(() => contract({ stream: publicProcedure.subscription(numbers) })).toThrow(
      /stream: say what each event carries/,
    );
    expect(() =>
      contract({ stream: publicProcedure.meta({ yields: z.number() }).subscription(numbers) }),
    ).toThrow(/stream: say whether its events are tracked/);
  });

  it("finds no difference between Pulse's router and itself, and states every procedure", async () => {
    const pulse = await pulseContract('1.2.3');
    expect(compareContracts(pulse, pulse)).toEqual([]);
    expect(pulse.procedures.filter((p) => !p.description).map((p) => p.path)).toEqual([]);
    expect(pulse.procedures.find((p) => p.path === 'notifications.send')).toMatchObject({
      type: 'mutation',
      access: 'admin',
      scope: 'notify',
    });
    expect(pulse.procedures.find((p) => p.path === 'system.health')).toMatchObject({
      access: 'public',
      scope: null,
    });
  });

  it('marks deprecated procedures and fields in the reference', async () => {
    const pulse = await pulseContract('1.2.3');
    const history = pulse.procedures.find((p) => p.path === 'chat.history');
    expect(history?.input).toMatchObject({ properties: { before: { deprecated: true } } });
    const withOld = contract({
      old: publicProcedure
        .meta({ deprecated: { reason: 'It reads too much.', replacement: 'fresh' } })
        .output(z.number())
        .query(() => 1),
    });
    const page = renderReference({ ...withOld, procedures: [...withOld.procedures, history!] });
    expect(page).toContain('> **Deprecated.** It reads too much. Use `fresh`.');
    expect(page).toMatch(/\| `before` +\| .* \| Deprecated: the same as `cursor`/);
  });
});
