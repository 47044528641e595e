import { TRPCClientError } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { describe, expect, it } from 'vitest';
import {
  fromWire,
  parseRelayMessage,
  toWire,
} from '../../src/client/transport/shared-subscription-codec.ts';

describe('the shared subscriptions’ wire between tabs', () => {
  it('carries data with its tracked id, and without one', () => {
    expect(fromWire(toWire({ id: 'ntf_7', data: { title: 'x' } }))).toEqual({
      id: 'ntf_7',
      data: { title: 'x' },
    });
    expect(fromWire(toWire({ type: 'data', data: 3 }))).toEqual({ data: 3 });
    expect(fromWire(toWire({ type: 'started' }))).toEqual({ type: 'started' });
  });

  it('carries an error as its shape, so the code survives cloning', () => {
    const error = TRPCClientError.from<AnyRouter>({
      error: { message: 'Cannot resume', code: -32000, data: { code: 'PRECONDITION_FAILED' } },
    });
    const wire = toWire<AnyRouter>({ type: 'state', state: 'connecting', error });
    const back = fromWire<AnyRouter>(structuredClone(wire));
    expect(back).toMatchObject({ type: 'state', state: 'connecting' });
    const carried = back.type === 'state' && back.state === 'connecting' ? back.error : null;
    expect(carried).toBeInstanceOf(TRPCClientError);
    expect(carried?.message).toBe('Cannot resume');
    expect(carried?.data).toMatchObject({ code: 'PRECONDITION_FAILED' });
  });

  it('ignores what is not one of its messages', () => {
    expect(parseRelayMessage({ kind: 'subscribe', subId: 1 })).toBeNull();
    expect(parseRelayMessage('hello')).toBeNull();
    expect(parseRelayMessage({ kind: 'unsubscribe', subId: 'a:1' })).toEqual({
      kind: 'unsubscribe',
      subId: 'a:1',
    });
  });
});
