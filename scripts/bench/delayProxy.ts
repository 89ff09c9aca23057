/**
 * The delay forwarder of test/helpers/delay.ts as its own process, so that
 * a benchmark blocking on a child (execFileSync) does not stall it:
 *
 *   node --import tsx scripts/bench/delayProxy.ts TARGET_PORT DELAY_MS
 *
 * prints `PORT <n>` once listening on 127.0.0.1.
 */
import { startDelayForwarder } from '../../test/helpers/delay.js';

const [targetPort, delay] = process.argv.slice(2).map(Number);
if (!targetPort || !(delay! >= 0)) throw new Error('usage: delayProxy.ts TARGET_PORT DELAY_MS');
const fwd = await startDelayForwarder(targetPort, delay!);
console.log(`PORT ${fwd.port}`);
