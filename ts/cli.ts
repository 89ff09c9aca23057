/**
 * The `sshwire` command: `serve` (the embedded server), `exec`, `run` (one
 * command on many hosts), `get` and `put` (the client, honouring ~/.ssh/config, ~/.ssh/known_hosts and the
 * usual keys, like OpenSSH). Argument parsing by commander.
 */
import { Command, Option } from 'commander';
import { connect } from './client.js';
import { connectOptions, type ClientFlags } from './cli/connectArgs.js';
import { serve, type ServeFlags } from './cli/serve.js';
import { parseTarget } from './cli/target.js';
import { get, put, type TransferFlags } from './cli/transfer.js';
import { runMany, type RunManyFlags } from './cli/runMany.js';

function clientOptions(cmd: Command): Command {
  return cmd
    .option('-p, --port <port>', 'port to connect to')
    .option('-i, --identity <file>', 'private key file (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('-l, --login <user>', 'user name')
    .option('-F, --config <file>', 'ssh_config file ("none" to ignore ~/.ssh/config)')
    .option('--accept-new', 'accept and record an unknown host key (like StrictHostKeyChecking=accept-new)')
    .option('-v, --verbose', 'print protocol diagnostics');
}

async function execCommand(hostArg: string, words: string[], flags: ClientFlags): Promise<number> {
  const conn = await connect(connectOptions(parseTarget(hostArg, false), flags));
  try {
    const proc = await conn.exec(words.join(' '));
    process.stdin.isTTY ? proc.stdin.end() : process.stdin.pipe(proc.stdin);
    proc.stdout.pipe(process.stdout, { end: false });
    proc.stderr.pipe(process.stderr, { end: false });
    const exit = await proc.exit;
    if (exit.exitSignal) {
      process.stderr.write(`sshwire: remote command killed by signal ${exit.exitSignal.name}\n`);
      return 255;
    }
    return exit.exitStatus ?? 255;
  } finally {
    process.stdin.unpipe();
    process.stdin.pause();
    conn.close();
    await conn.closed;
  }
}

/** Runs the command line; resolves with the process exit code. */
export async function runCli(argv: string[] = process.argv): Promise<number> {
  let code = 0;
  const program = new Command('sshwire').description('SSH client and server (sshwire)').showHelpAfterError();
  program
    .command('serve')
    .description('run an SSH/SFTP server for the current user, serving a directory')
    .option('--root <dir>', 'directory to serve over SFTP (default: the current directory)')
    .option('--port <n>', 'port (default: any free port)')
    .option('--host <addr>', 'address to bind', '127.0.0.1')
    .option('--user <name>', 'user name to accept (default: yours)')
    .addOption(new Option('--state-dir <dir>', 'where the host key is kept').hideHelp())
    .option('-v, --verbose', 'print protocol diagnostics')
    .action(async (flags: ServeFlags) => {
      const server = await serve(flags);
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          void server.close().then(resolve);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
  clientOptions(program.command('exec').description('run a command on a host').argument('<host>', '[user@]host').argument('<command...>'))
    .action(async (host: string, words: string[], flags: ClientFlags) => {
      code = await execCommand(host, words, flags);
    });
  clientOptions(
    program
      .command('run')
      .description('run a command on several hosts, a bounded number at once')
      .argument('<hosts>', 'comma-separated [user@]host list')
      .argument('<command...>'),
  )
    .option('-c, --concurrency <n>', 'hosts at once', '10')
    .action(async (hosts: string, words: string[], flags: RunManyFlags) => {
      code = await runMany(hosts, words, flags);
    });
  clientOptions(program.command('get').description('download a file').argument('<source>', '[user@]host:path').argument('<local>', 'local path'))
    .option('-q, --quiet', 'no progress bar')
    .action(async (source: string, local: string, flags: TransferFlags) => {
      await get(source, local, flags);
    });
  clientOptions(program.command('put').description('upload a file').argument('<local>', 'local file').argument('<dest>', '[user@]host:path'))
    .option('-q, --quiet', 'no progress bar')
    .action(async (local: string, dest: string, flags: TransferFlags) => {
      await put(local, dest, flags);
    });
  try {
    await program.parseAsync(argv);
  } catch (err) {
    process.stderr.write(`sshwire: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  return code;
}
