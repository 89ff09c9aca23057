#!/usr/bin/env node
// The `sshwire` command. Runs the built CLI (dist/cli.mjs) when present;
// in a source checkout without a build, runs ts/cli.ts through tsx.
import { existsSync } from 'node:fs';

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
