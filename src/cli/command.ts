import type { parseArgs, ParseArgsConfig } from 'node:util';
import type { PulseClient } from '../sdk/client.ts';
import type { Config } from './config.ts';

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** Options every command accepts. */
export const GLOBAL_OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionsConfig;

type Values<O extends OptionsConfig> = ReturnType<
  typeof parseArgs<{ options: O & typeof GLOBAL_OPTIONS; allowPositionals: true; strict: true }>
>['values'];

/** The process's streams and environment, passed in so that nothing reads globals directly. */
export interface Io {
  env: NodeJS.ProcessEnv;
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export interface CommandContext<O extends OptionsConfig> {
  values: Values<O>;
  /** Positional arguments after the command's words: all of `Command.args`, then any optional ones. */
  args: string[];
  config: Config;
  io: Io;
  /**
   * A client for `config.url` with `config.token` (or none: the server answers UNAUTHORIZED);
   * with `webSocket`, `chat.*` goes over a WebSocket. Its first call checks that the server
   * speaks this CLI's API version (a mismatch fails every call with a `PulseVersionError`).
   */
  client: (opts?: { webSocket?: boolean }) => PulseClient;
  /** A line on stdout. */
  out: (line: string) => void;
  /** A line on stderr: progress, hints, warnings. */
  note: (line: string) => void;
}

export interface Command<O extends OptionsConfig = OptionsConfig> {
  /** The words that select it: `['token', 'create']`. */
  path: readonly string[];
  /** Names of its required positional arguments, in order. */
  args: readonly string[];
  /** Names of positional arguments that may follow the required ones (the command checks them). */
  optionalArgs?: readonly string[];
  /** What follows the words in the usage line, e.g. `NAME --scopes read,write,...`. */
  usage: string;
  summary: string;
  /** More lines for `pulse help <command>`: options, examples. */
  details?: readonly string[];
  options: O;
  /** It signs in by itself (`login`), so a refusal needs no "run pulse login" hint. */
  signsIn?: boolean;
  /** Resolves to the exit code (0 when nothing is returned). */
  run(ctx: CommandContext<O>): Promise<number | void>;
}

/** Keeps each command's option types for its `run`, and erases them for the registry. */
export function defineCommand<const O extends OptionsConfig>(command: Command<O>): Command {
  return command;
}
