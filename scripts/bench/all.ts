/**
 * `npm run bench`: every benchmark in one run, one after another (they share
 * the machine's two cores, so never in parallel). Each prints its own table
 * with the peers measured side by side; this script only sequences them.
 *
 *   npm run bench                 # everything, quick sizes where a script has them
 *   npm run bench -- crypto sftp  # only these
 *   npm run bench -- --full       # full sizes (1 GiB transfers)
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const full = process.argv.includes('--full');
const picked = process.argv.slice(2).filter((a) => !a.startsWith('--'));

/** name → arguments for a quick run and for a full one. */
const suites: Array<{ name: string; quick: string[]; full: string[] }> = [
  { name: 'crypto', quick: [], full: [] },
  { name: 'transport', quick: ['--mib=128', '--runs=2'], full: [] },
  { name: 'connection', quick: ['256'], full: ['1024'] },
  { name: 'client', quick: ['--quick'], full: [] },
  { name: 'sftp', quick: ['--quick'], full: [] },
  { name: 'server', quick: ['--quick'], full: [] },
];

let failed = 0;
for (const suite of suites) {
  if (picked.length && !picked.includes(suite.name)) continue;
  const script = join(here, `${suite.name}.ts`);
  if (!existsSync(script)) continue;
  process.stdout.write(`\n=== bench:${suite.name}\n`);
  const res = spawnSync(process.execPath, ['--import', 'tsx', script, ...(full ? suite.full : suite.quick)], { stdio: 'inherit' });
  if (res.status !== 0) {
    failed++;
    process.stdout.write(`bench:${suite.name} exited with ${res.status ?? res.signal}\n`);
  }
}
process.exitCode = failed ? 1 : 0;
