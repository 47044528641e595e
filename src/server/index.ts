import { parseEnv } from './env.ts';
import { DEMO_PASSWORD } from './seed.ts';
import { startServer } from './server.ts';

/** The `npm start` entry: parse the environment, start, and shut down cleanly on signals. */
// The last net: every error has a handler where it can happen, but one that slips through is
// logged and the server goes on serving everyone else rather than dropping every connection.
process.on('unhandledRejection', (reason) =>
  console.error('Unhandled rejection (the server keeps running)', reason),
);
process.on('uncaughtException', (error) =>
  console.error('Uncaught exception (the server keeps running)', error),
);

async function main() {
  const env = parseEnv();
  const server = await startServer(env);
  for (const line of server.seeded) console.log(line);
  if (server.seeded.length === 0) {
    const demo = await server.app.stores.credentials.credentialsOf('alice');
    console.log(
      demo
        ? `Sign in as admin, or as a demo user (alice, bob, carol) with password '${DEMO_PASSWORD}'`
        : 'Sign in as admin with the password printed on first start (or PULSE_ADMIN_PASSWORD)',
    );
  }
  console.log(`Pulse listening on ${server.url}`);
  const windowS = env.PULSE_DRAIN_S;
  let draining = false;
  const onSignal = (signal: string) => {
    if (draining) {
      console.log(`${signal} again: ending the drain now`);
      server.hurry();
      return;
    }
    draining = true;
    console.log(
      `${signal}: draining (open streams end over ${windowS} s; ${signal} again to stop at once)`,
    );
    server.drain(windowS * 1000).then(
      () => {
        console.log('Drained and closed');
        process.exit(0);
      },
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
