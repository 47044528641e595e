import { allPages } from '../../sdk/pages.ts';
import { tokenScopeSchema, type TokenScope } from '../../shared/schemas/auth.ts';
import { defineCommand } from '../command.ts';
import { UsageError } from '../errors.ts';
import { table } from '../format.ts';

export const tokenCreateCommand = defineCommand({
  path: ['token', 'create'],
  args: ['NAME'],
  usage: 'NAME --scopes read,write,...',
  summary: 'Create an API token and print it (shown only this once)',
  details: [
    'Scopes: read (queries, subscriptions), write (other mutations), ingest (metrics.ingest),',
    'notify (notifications.send; admins only). A token cannot grant scopes the caller lacks.',
    'Prints "id: ..." and "token: ..."; with --json, {"id","token"}.',
  ],
  options: { scopes: { type: 'string' } },
  async run({ values, args: [name = ''], client, out, note }) {
    const names = (values.scopes ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (names.length === 0) throw new UsageError('Missing --scopes, e.g. --scopes read,write');
    const scopes = names.map((scope): TokenScope => {
      const parsed = tokenScopeSchema.safeParse(scope);
      if (parsed.success) return parsed.data;
      throw new UsageError(
        `Unknown scope '${scope}': expected ${tokenScopeSchema.options.join(', ')}`,
      );
    });
    const created = await client().auth.createToken.mutate({ name, scopes });
    if (values.json) return out(JSON.stringify(created));
    out(`id: ${created.id}`);
    out(`token: ${created.token}`);
    note('Copy the token now: it is not shown again.');
  },
});

export const tokenListCommand = defineCommand({
  path: ['token', 'list'],
  args: [],
  usage: '',
  summary: 'List your API tokens',
  options: {},
  async run({ values, client, out }) {
    const pulse = client();
    const tokens = await allPages((page) => pulse.auth.listTokens.query(page));
    if (values.json) return out(JSON.stringify(tokens));
    if (tokens.length === 0) return out('No tokens.');
    const rows = tokens.map((t) => [
      t.id,
      t.name,
      t.scopes.join(','),
      t.createdAt,
      t.lastUsedAt ?? 'never',
    ]);
    for (const line of table([['ID', 'NAME', 'SCOPES', 'CREATED', 'LAST USED'], ...rows]))
      out(line);
  },
});

export const tokenRevokeCommand = defineCommand({
  path: ['token', 'revoke'],
  args: ['ID'],
  usage: 'ID',
  summary: 'Revoke an API token: calls and streams using it stop at once',
  options: {},
  async run({ values, args: [id = ''], client, out }) {
    await client().auth.revokeToken.mutate({ id });
    out(values.json ? JSON.stringify({ id, revoked: true }) : `Revoked token ${id}.`);
  },
});
