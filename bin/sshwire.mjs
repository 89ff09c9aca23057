#!/usr/bin/env node
// The `sshwire` command. Runs the built CLI (dist/cli.mjs) when present;
// in a source checkout without a build, runs ts/cli.ts through tsx.
//
// Transfers allocate a node:crypto buffer per packet; with V8's default
// initial old-generation size that garbage can trigger a mark-compact every
// few MiB, at up to half the CPU of a transfer, depending on how much heap
// the process holds (docs/PERFORMANCE.md, "V8's collections on the bulk
// path"). A library cannot size the heap, but
// a command can: unless started with the flag already (or
// SSHWIRE_NO_REEXEC=1), it runs itself again in a node that has it.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const HEAP_FLAG = '--initial-old-space-size=64';

if (!process.execArgv.some((a) => a.startsWith('--initial-old-space-size')) && process.env.SSHWIRE_NO_REEXEC !== '1') {
  const child = spawn(process.execPath, [HEAP_FLAG, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  // The terminal sends ^C to the whole process group: the child handles it.
  for (const sig of ['SIGINT', 'SIGQUIT']) process.on(sig, () => {});
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  process.on('SIGHUP', () => child.kill('SIGHUP'));
  child.on('error', (err) => {
    process.stderr.write(`sshwire: could not start node: ${err.message}\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    } else process.exit(code ?? 1);
  });
} else {
  const built = new URL('../dist/cli.mjs', import.meta.url);
  let cli;
  if (existsSync(built)) {
    cli = await import(built.href);
  } else {
    const { register } = await import('tsx/esm/api');
    register();
    cli = await import(new URL('../ts/cli.ts', import.meta.url).href);
  }
  process.exitCode = await cli.runCli(process.argv);
}
