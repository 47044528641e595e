import { parseEnv } from './env.ts';
import { startServer } from './server.ts';

/** The `npm start` entry: parse the environment, start, and shut down cleanly on signals. */
async function main() {
  const env = parseEnv();
  const server = await startServer(env);
  for (const line of server.seeded) console.log(line);
  console.log(`Pulse listening on ${server.url}`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: closing connections and the database`);
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
