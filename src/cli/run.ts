import { parseArgs } from 'node:util';
import { createPulseClient } from '../sdk/client.ts';
import { GLOBAL_OPTIONS, type Command, type CommandContext, type Io } from './command.ts';
import { resolveConfig, DEFAULT_URL } from './config.ts';
import { describeError, errorCode, EXIT_FAILED, EXIT_USAGE, UsageError } from './errors.ts';

const GLOBAL_HELP = [
  'Global options:',
  `  --url URL      the Pulse server (env PULSE_URL; else the one you logged in to; else ${DEFAULT_URL})`,
  '  --token TOKEN  an API token (env PULSE_TOKEN; else the one saved by `pulse login`)',
  '  --json         machine-readable output, for commands that print data',
  '  -h, --help     show help',
];

const usageLine = (command: Command) =>
  `pulse ${[...command.path, command.usage].join(' ').trim()}`;

function generalHelp(commands: readonly Command[]): string[] {
  const rows = commands.map((c) => [`  ${usageLine(c)}`, c.summary]);
  const width = Math.max(...rows.map(([usage]) => usage?.length ?? 0));
  return [
    'pulse: the Pulse command line',
    '',
    'Usage: pulse <command> [options]',
    '',
    'Commands:',
    ...rows.map(([usage = '', summary = '']) =>
      usage.length > 48
        ? `${usage}\n${' '.repeat(6)}${summary}`
        : `${usage.padEnd(Math.min(width, 48))}  ${summary}`,
    ),
    '',
    ...GLOBAL_HELP,
    '',
    'Credentials from `pulse login` live in $XDG_CONFIG_HOME/pulse/credentials.json',
    '(default ~/.config/pulse/credentials.json). Run `pulse help <command>` for details.',
  ];
}

function commandHelp(command: Command): string[] {
  return [
    `Usage: ${usageLine(command)}`,
    '',
    command.summary,
    ...(command.details?.length ? ['', ...command.details] : []),
    '',
    ...GLOBAL_HELP,
  ];
}

/** The longest command whose words start `words`. */
function match(commands: readonly Command[], words: readonly string[]): Command | undefined {
  let best: Command | undefined;
  for (const command of commands) {
    const fits = command.path.every((word, i) => words[i] === word);
    if (fits && command.path.length > (best?.path.length ?? 0)) best = command;
  }
  return best;
}

/** The words before the first option a command could own (global options may precede them). */
function leadingWords(argv: readonly string[]): string[] {
  const { tokens } = parseArgs({
    args: [...argv],
    options: GLOBAL_OPTIONS,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const words: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'positional') words.push(token.value);
    else if (token.kind === 'option' && !(token.name in GLOBAL_OPTIONS)) break;
  }
  return words;
}

/**
 * Runs one command line against `commands`, writing to `io`; resolves to the exit code.
 * Never throws: failures are printed as the server phrased them.
 */
export async function runCli(
  commands: readonly Command[],
  argv: readonly string[],
  io: Io,
): Promise<number> {
  const print = (stream: NodeJS.WritableStream, lines: string[]) =>
    stream.write(`${lines.join('\n')}\n`);
  const words = leadingWords(argv);
  const wantsHelp = argv.includes('--help') || argv.includes('-h');

  if (words[0] === 'help' || (words.length === 0 && (wantsHelp || argv.length === 0))) {
    const topic = words[0] === 'help' ? words.slice(1) : [];
    const command = topic.length > 0 ? match(commands, topic) : undefined;
    if (topic.length > 0 && !command) {
      print(io.stderr, [`Unknown command '${topic.join(' ')}'. Run \`pulse help\` for the list.`]);
      return EXIT_USAGE;
    }
    print(io.stdout, command ? commandHelp(command) : generalHelp(commands));
    return 0;
  }

  const command = match(commands, words);
  if (words.length === 0) {
    print(io.stderr, ['Missing a command.', '', ...generalHelp(commands)]);
    return EXIT_USAGE;
  }
  if (!command) {
    const group = commands.filter((c) => c.path[0] === words[0]);
    const lines =
      group.length > 0
        ? [`'pulse ${words[0]}' needs one of:`, ...group.map((c) => `  ${usageLine(c)}`)]
        : [`Unknown command '${words[0]}'. Run \`pulse help\` for the list.`];
    print(io.stderr, lines);
    return EXIT_USAGE;
  }
  if (wantsHelp) {
    print(io.stdout, commandHelp(command));
    return 0;
  }

  let url: string | undefined;
  try {
    let parsed;
    try {
      parsed = parseArgs({
        args: [...argv],
        options: { ...GLOBAL_OPTIONS, ...command.options },
        strict: true,
        allowPositionals: true,
      });
    } catch (error) {
      // Node appends advice about `--` to unknown options; the usage line says more.
      throw new UsageError(
        (error as Error).message.replace(/\. To specify a positional argument.*$/s, ''),
      );
    }
    // The command's own words come first among the positionals (see leadingWords).
    const args = parsed.positionals.slice(command.path.length);
    const optional = command.optionalArgs ?? [];
    if (args.length < command.args.length) {
      throw new UsageError(`Missing ${command.args.slice(args.length).join(' ')}`);
    }
    if (args.length > command.args.length + optional.length) {
      const names = [...command.args, ...optional.map((name) => `[${name}]`)];
      const expected = names.length === 0 ? 'no arguments' : names.join(' ');
      throw new UsageError(
        `Unexpected argument '${args[command.args.length + optional.length]}' (expected ${expected})`,
      );
    }
    const values = parsed.values as { url?: string; token?: string };
    const config = resolveConfig({ url: values.url, token: values.token }, io.env);
    url = config.url;
    const ctx: CommandContext<typeof command.options> = {
      values: parsed.values,
      args,
      config,
      io,
      client: (opts) =>
        createPulseClient({
          url: config.url,
          token: config.token,
          webSocket: opts?.webSocket,
          checkVersion: true,
        }),
      // Braces: `write` returns a boolean, which a command's `return out(…)` must not pass on
      // as its exit code.
      out: (line) => {
        io.stdout.write(`${line}\n`);
      },
      note: (line) => {
        io.stderr.write(`${line}\n`);
      },
    };
    try {
      return (await command.run(ctx)) ?? 0;
    } catch (error) {
      if (errorCode(error) === 'UNAUTHORIZED' && !config.token && !command.signsIn) {
        print(io.stderr, [
          describeError(error, config.url),
          'Run `pulse login --user NAME`, or set PULSE_TOKEN.',
        ]);
        return EXIT_FAILED;
      }
      throw error;
    }
  } catch (error) {
    if (error instanceof UsageError) {
      print(io.stderr, [
        error.message,
        `Usage: ${usageLine(command)}`,
        'Run `pulse help` for more.',
      ]);
      return EXIT_USAGE;
    }
    print(io.stderr, [describeError(error, url ?? DEFAULT_URL)]);
    return EXIT_FAILED;
  }
}
