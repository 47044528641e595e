import { spawn } from 'node:child_process';

/**
 * Runs a command to its end and resolves with what it printed on stdout; a command that fails
 * rejects with everything it printed, so the reason reaches whoever reads the error.
 */
export function runCommand(command: string, args: readonly string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      code === 0
        ? resolve(stdout)
        : reject(
            new Error(
              `${command} ${args.join(' ')} failed (${code ?? signal}):\n${stdout}${stderr}`,
            ),
          ),
    );
  });
}
