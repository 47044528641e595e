import { loginCommand, logoutCommand, whoamiCommand } from './commands/auth.ts';
import { chatCommand } from './commands/chat.ts';
import {
  ackCommand,
  assignCommand,
  incidentsCommand,
  resolveCommand,
} from './commands/incidents.ts';
import { ingestCommand } from './commands/ingest.ts';
import {
  notificationsArchiveCommand,
  notificationsListCommand,
  notificationsPrefsCommand,
  notificationsSeenCommand,
  notificationsSnoozeCommand,
  notificationsUnarchiveCommand,
  notificationsUnsnoozeCommand,
} from './commands/notifications.ts';
import { notifyCommand } from './commands/notify.ts';
import { tailCommand } from './commands/tail.ts';
import { tokenCreateCommand, tokenListCommand, tokenRevokeCommand } from './commands/tokens.ts';
import {
  userAddCommand,
  userDisableCommand,
  userEnableCommand,
  userSignOutCommand,
} from './commands/users.ts';
import { runCli } from './run.ts';

/** Every command, in the order `pulse help` lists them. A new command is one more entry. */
const COMMANDS = [
  loginCommand,
  logoutCommand,
  whoamiCommand,
  userAddCommand,
  userDisableCommand,
  userEnableCommand,
  userSignOutCommand,
  tokenCreateCommand,
  tokenListCommand,
  tokenRevokeCommand,
  notifyCommand,
  tailCommand,
  notificationsListCommand,
  notificationsSeenCommand,
  notificationsArchiveCommand,
  notificationsUnarchiveCommand,
  notificationsSnoozeCommand,
  notificationsUnsnoozeCommand,
  notificationsPrefsCommand,
  ingestCommand,
  incidentsCommand,
  ackCommand,
  resolveCommand,
  assignCommand,
  chatCommand,
];

process.exitCode = await runCli(COMMANDS, process.argv.slice(2), {
  env: process.env,
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
});
