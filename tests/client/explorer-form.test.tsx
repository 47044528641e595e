// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { InputForm } from '../../src/client/features/explorer/input-form.tsx';
import type { JsonSchema } from '../../src/shared/api-contract.ts';
import { createTokenSchema, createUserSchema } from '../../src/shared/schemas/auth.ts';
import { idSchema, severitySchema } from '../../src/shared/schemas/common.ts';
import { sendMessageSchema } from '../../src/shared/schemas/chat.ts';
import { ingestSchema } from '../../src/shared/schemas/metrics.ts';
import {
  listNotificationsSchema,
  recipientsSchema,
  sendNotificationSchema,
} from '../../src/shared/schemas/notifications.ts';

afterEach(cleanup);

/** The input schema as the contract holds it: zod's JSON Schema of what a procedure accepts. */
const inputOf = (schema: z.ZodType): JsonSchema =>
  z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });

/** Renders the form for `schema`; `submit()` presses its button and answers what it sent. */
function renderForm(schema: z.ZodType | null) {
  const onSubmit = vi.fn<(input: unknown) => void>();
  render(<InputForm schema={schema && inputOf(schema)} submitLabel="Call" onSubmit={onSubmit} />);
  return {
    submit(): unknown {
      onSubmit.mockClear();
      fireEvent.click(screen.getByRole('button', { name: 'Call' }));
      expect(onSubmit).toHaveBeenCalledTimes(1);
      return onSubmit.mock.calls[0]?.[0];
    },
    /** Presses the button expecting nothing to be sent; answers the problems shown instead. */
    refused(): string[] {
      onSubmit.mockClear();
      fireEvent.click(screen.getByRole('button', { name: 'Call' }));
      expect(onSubmit).not.toHaveBeenCalled();
      return within(screen.getByRole('alert'))
        .getAllByRole('listitem')
        .map((li) => li.textContent ?? '');
    },
  };
}

const type = (label: string, value: string, scope: HTMLElement = document.body) =>
  fireEvent.change(within(scope).getByLabelText(label), { target: { value } });

const hintOf = (label: string) => {
  const id = screen.getByLabelText(label).getAttribute('aria-describedby') ?? '';
  return document.getElementById(id)?.textContent;
};

describe('the explorer form generated from a JSON Schema', () => {
  it('maps an object to its properties: strings with their lengths, required ones sent', () => {
    const form = renderForm(sendMessageSchema);
    expect(hintOf('roomId')).toBe('required · 1–100 characters');
    expect(hintOf('text')).toBe('required · 1–4000 characters');
    // A long text gets a text area; a uuid says so, and can be generated.
    expect(screen.getByLabelText('text').tagName).toBe('TEXTAREA');
    expect(hintOf('clientMessageId')).toBe('required · uuid');
    type('roomId', 'room_t1');
    type('text', 'hello');
    fireEvent.click(screen.getByRole('button', { name: 'New UUID for clientMessageId' }));
    const sent = sendMessageSchema.parse(form.submit());
    expect(sent).toMatchObject({ roomId: 'room_t1', text: 'hello' });
  });

  it('sends an optional property only once it is ticked or edited, and shows its default', () => {
    const form = renderForm(listNotificationsSchema);
    expect(form.submit()).toEqual({});

    expect(hintOf('limit')).toBe('integer · ≥ 1 · ≤ 100 · default 20');
    expect(screen.getByLabelText<HTMLInputElement>('limit').value).toBe('20');
    fireEvent.click(screen.getByLabelText('Send limit'));
    expect(form.submit()).toEqual({ limit: 20 });

    type('limit', '50');
    fireEvent.click(screen.getByLabelText('unreadOnly'));
    expect(form.submit()).toEqual({ limit: 50, unreadOnly: true });

    fireEvent.click(screen.getByLabelText('Send unreadOnly'));
    expect(form.submit()).toEqual({ limit: 50 });
  });

  it('maps numbers with their bounds, exclusive ones included, and refuses text that is no number', () => {
    const form = renderForm(
      z.object({ threshold: z.number().positive().lt(1000), forSeconds: z.number().int().min(0) }),
    );
    expect(hintOf('threshold')).toBe('required · number · > 0 · < 1000');
    expect(hintOf('forSeconds')).toBe('required · integer · ≥ 0');
    type('threshold', '2.5');
    expect(form.refused()).toEqual(['forSeconds: a number is needed']);
    type('forSeconds', '30');
    expect(form.submit()).toEqual({ threshold: 2.5, forSeconds: 30 });
  });

  it('maps an enum to a select of its values, and a boolean to a checkbox', () => {
    const form = renderForm(z.object({ severity: severitySchema, disabled: z.boolean() }));
    const select = screen.getByLabelText('severity');
    expect(
      within(select)
        .getAllByRole('option')
        .map((o) => o.textContent),
    ).toEqual(['info', 'warning', 'critical']);
    expect(form.submit()).toEqual({ severity: 'info', disabled: false });
    fireEvent.change(select, { target: { value: '2' } });
    fireEvent.click(screen.getByLabelText('disabled'));
    expect(form.submit()).toEqual({ severity: 'critical', disabled: true });
  });

  it('maps a nullable property to its value with a null box', () => {
    const form = renderForm(sendNotificationSchema.pick({ link: true }));
    type('link', '/incidents');
    expect(form.submit()).toEqual({ link: '/incidents' });
    fireEvent.click(screen.getByLabelText('link is null'));
    expect(screen.getByLabelText<HTMLInputElement>('link').disabled).toBe(true);
    expect(form.submit()).toEqual({ link: null });

    cleanup();
    // zod writes a nullable bare type as a list of types; a description is shown with its field.
    const short = renderForm(z.object({ note: z.string().nullable().describe('Why it changed') }));
    expect(screen.getByText('Why it changed')).toBeTruthy();
    type('note', 'x');
    expect(short.submit()).toEqual({ note: 'x' });
    fireEvent.click(screen.getByLabelText('note is null'));
    expect(short.submit()).toEqual({ note: null });
  });

  it('maps an array of primitives to a list that grows and shrinks', () => {
    const form = renderForm(createUserSchema.pick({ teamIds: true }));
    fireEvent.click(screen.getByLabelText('Send teamIds'));
    expect(form.submit()).toEqual({ teamIds: [] });
    expect(screen.getByText('at most 100 items')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Add to teamIds' }));
    fireEvent.click(screen.getByRole('button', { name: 'Add to teamIds' }));
    type('teamIds 1', 'tm_1');
    type('teamIds 2', 'tm_2');
    expect(form.submit()).toEqual({ teamIds: ['tm_1', 'tm_2'] });
    fireEvent.click(screen.getByRole('button', { name: 'Remove teamIds 1' }));
    expect(form.submit()).toEqual({ teamIds: ['tm_2'] });
  });

  it('starts a list with the items it needs at least, here selects of an enum', () => {
    const form = renderForm(createTokenSchema);
    type('name', 'ci');
    expect(form.submit()).toEqual({ name: 'ci', scopes: ['read'] });
    fireEvent.change(screen.getByLabelText('scopes 1'), { target: { value: '3' } });
    expect(form.submit()).toEqual({ name: 'ci', scopes: ['notify'] });
  });

  it('maps a union to a choice of its branches, each with its own fields', () => {
    const form = renderForm(sendNotificationSchema.pick({ to: true }));
    const to = screen.getByRole('group', { name: 'to' });
    const choice = within(to).getByLabelText('one of');
    expect(
      within(choice)
        .getAllByRole('option')
        .map((o) => o.textContent),
    ).toEqual(['userIds', 'usernames', 'teamId', 'teamName', 'all']);
    fireEvent.change(choice, { target: { value: '1' } });
    type('usernames 1', 'alice', to);
    expect(form.submit()).toEqual({ to: { usernames: ['alice'] } });
    // A constant is shown, not asked for.
    fireEvent.change(choice, { target: { value: '4' } });
    expect(within(to).getByLabelText('all').textContent).toBe('true');
    expect(form.submit()).toEqual({ to: { all: true } });
    expect(recipientsSchema.safeParse({ all: true }).success).toBe(true);
  });

  it('names the branches of a discriminated union by their discriminator', () => {
    const audience = z.discriminatedUnion('kind', [
      z.object({ kind: z.literal('users'), userIds: z.array(idSchema).min(1) }),
      z.object({ kind: z.literal('team'), teamId: idSchema }),
    ]);
    const form = renderForm(z.object({ audience }));
    const group = screen.getByRole('group', { name: 'audience' });
    const choice = within(group).getByLabelText('one of');
    expect(
      within(choice)
        .getAllByRole('option')
        .map((o) => o.textContent),
    ).toEqual(['kind: users', 'kind: team']);
    fireEvent.change(choice, { target: { value: '1' } });
    type('teamId', 'tm_1', group);
    expect(form.submit()).toEqual({ audience: { kind: 'team', teamId: 'tm_1' } });
  });

  it('maps a union of bare types to a choice of types', () => {
    const form = renderForm(z.object({ value: z.union([z.string(), z.number()]) }));
    const group = screen.getByRole('group', { name: 'value' });
    fireEvent.change(within(group).getByLabelText('one of'), { target: { value: '1' } });
    type('number', '7', group);
    expect(form.submit()).toEqual({ value: 7 });
  });

  it('maps an array of objects to a list of groups of fields', () => {
    const form = renderForm(ingestSchema);
    const point = screen.getByRole('group', { name: 'points 1' });
    type('series', 'host.cpu', point);
    type('value', '97.5', point);
    expect(form.submit()).toEqual({ points: [{ series: 'host.cpu', value: 97.5 }] });
  });

  it('falls back to JSON for what the form cannot express, and says what does not parse', () => {
    const form = renderForm(
      z.object({
        labels: z.record(z.string(), z.string()),
        range: z.tuple([z.number(), z.number()]),
      }),
    );
    expect(hintOf('labels')).toBe('required · JSON: the form cannot express this part');
    type('labels', '{"env": "prod"}');
    type('range', '[1, 2');
    const [problem] = form.refused();
    expect(problem).toMatch(/^range: not JSON/);
    type('range', '[1, 2]');
    expect(form.submit()).toEqual({ labels: { env: 'prod' }, range: [1, 2] });
  });

  it('edits the whole input as raw JSON, starting from what the form holds', () => {
    const form = renderForm(sendMessageSchema);
    type('roomId', 'room_t1');
    fireEvent.click(screen.getByRole('button', { name: 'Edit as JSON' }));
    const json = screen.getByLabelText<HTMLTextAreaElement>('Input as JSON');
    expect(JSON.parse(json.value)).toEqual({ roomId: 'room_t1', text: '', clientMessageId: '' });
    type('Input as JSON', '{"roomId": 42, "extra": true}');
    expect(form.submit()).toEqual({ roomId: 42, extra: true });
    type('Input as JSON', 'nope');
    expect(form.refused()[0]).toMatch(/^input: not JSON/);
  });

  it('sends no input for a procedure that takes none', () => {
    const form = renderForm(null);
    expect(screen.getByText('Takes no input.')).toBeTruthy();
    expect(form.submit()).toBeUndefined();
  });
});
