/**
 * Longer SFTP client fuzzing: `npm run fuzz:sftp-client [-- count [seed]]`.
 * Ordinary client operations against a hostile in-process server; fails on
 * a hang or an untyped error, printing the seed to replay.
 */
import { fuzzSftpClient } from '../../test/helpers/sftpClientFuzz.js';

const count = Number(process.argv[2] ?? 2000);
const seed = Number(process.argv[3] ?? Date.now() % 1_000_000);
const started = Date.now();
const tally = await fuzzSftpClient(seed, count);
console.log(`sftp client fuzz: ${count} operations from seed ${seed} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
for (const [what, n] of [...tally].sort((a, b) => b[1] - a[1])) console.log(`  ${what.padEnd(30)} ${n}`);
