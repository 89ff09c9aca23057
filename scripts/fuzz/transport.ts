/**
 * Longer transport fuzzing: `npm run fuzz [-- count [seed]]`. Throws random
 * and mutated packets at a server Transport and fails on any hang or untyped
 * error, printing the seed to replay.
 */
import { fuzzServer } from '../../test/helpers/fuzz.js';

const count = Number(process.argv[2] ?? 5000);
const seed = Number(process.argv[3] ?? Date.now() % 1_000_000);
const started = Date.now();
const codes = await fuzzServer(seed, count);
console.log(`transport fuzz: ${count} cases from seed ${seed} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
for (const [code, n] of [...codes].sort((a, b) => b[1] - a[1])) console.log(`  ${code.padEnd(28)} ${n}`);
