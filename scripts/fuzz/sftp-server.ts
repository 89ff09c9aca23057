/**
 * Longer SFTP server fuzzing: `npm run fuzz:sftp-server [-- count [seed]]`.
 * A hostile client sends random and mutated requests to an SFTPServerSession
 * over LocalFilesystem; fails on a missing reply, an untyped session end or
 * a change outside the root, printing the seed to replay.
 */
import { fuzzSftpServer } from '../../test/helpers/sftpServerFuzz.js';

const count = Number(process.argv[2] ?? 20000);
const seed = Number(process.argv[3] ?? Date.now() % 1_000_000);
const started = Date.now();
const tally = await fuzzSftpServer(seed, count);
console.log(`sftp server fuzz: ${count} requests from seed ${seed} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
for (const [what, n] of [...tally].sort((a, b) => b[1] - a[1])) console.log(`  ${what.padEnd(28)} ${n}`);
