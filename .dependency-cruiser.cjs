/* global module */
/**
 * The import boundaries of docs/decisions/0008-server-by-feature.md, checked by `npm run deps`
 * (part of `npm test`). Paths are relative to the repository root.
 */
const FEATURES = '^src/server/features/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment:
        'No import circles anywhere in src/ (type-only imports included: they couple modules too).',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'platform-knows-no-feature',
      comment: 'platform/ is what features are built on; it never imports a feature.',
      severity: 'error',
      from: { path: '^src/server/platform/' },
      to: { path: FEATURES },
    },
    {
      name: 'router-does-not-publish',
      comment:
        "A router never imports the bus: publishing is an action's job (the action writes through " +
        'its store, then announces).',
      severity: 'error',
      from: { path: `${FEATURES}[^/]+/[a-z0-9-]*router[.]ts$` },
      to: { path: '^src/server/platform/bus\\.ts$' },
    },
    {
      name: 'features-know-no-redis',
      comment:
        'Features never talk to Redis: the composition root hands them what is shared (rate ' +
        'limiters, the bus), built in platform/.',
      severity: 'error',
      from: { path: FEATURES },
      to: { path: '(^|/)node_modules/ioredis/' },
    },
    {
      name: 'feature-through-public-face',
      comment:
        'A feature imports another feature only through its public faces (actions.ts, store.ts, ' +
        'or an index.ts), never its router, feed or jobs.',
      severity: 'error',
      from: { path: `${FEATURES}([^/]+)/` },
      to: {
        path: FEATURES,
        pathNot: [`${FEATURES}$1/`, `${FEATURES}[^/]+/(actions|store|index)\\.ts$`],
      },
    },
    {
      name: 'clients-import-server-types-only',
      comment:
        'The web app and the SDK import only types from the server (the router type, schemas come from shared/).',
      severity: 'error',
      from: { path: '^src/(client|sdk)/' },
      to: { path: '^src/server/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'shared-stands-alone',
      comment: 'shared/ is used by server and clients alike, so it imports neither.',
      severity: 'error',
      from: { path: '^src/shared/' },
      to: { path: '^src/(server|client)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports are seen (and labelled `type-only`), so the rules above can tell them apart.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.tsx', '.js', '.d.ts'],
    },
  },
};
