/**
 * A TCP forwarder that holds every chunk for a fixed time in each
 * direction, to give loopback benchmarks a network's round-trip time
 * (netem is not available everywhere). Run as its own process so that a
 * benchmark blocking on a child (execFileSync) does not stall it:
 *
 *   node --import tsx scripts/bench/delayProxy.ts TARGET_PORT DELAY_MS
 *
 * prints `PORT <n>` once listening on 127.0.0.1. Each direction pauses its
 * source while more than 16 MiB is held or unsent, so memory stays bounded.
 */
import { createServer, connect, type Socket } from 'node:net';

const MAX_HELD = 16 * 1024 * 1024;

function pipeDelayed(from: Socket, to: Socket, delayMs: number): void {
  let held = 0;
  const backlog = (): number => held + to.writableLength;
  from.on('data', (chunk: Buffer) => {
    held += chunk.length;
    if (backlog() > MAX_HELD) from.pause();
    setTimeout(() => {
      held -= chunk.length;
      to.write(chunk);
      resumeIfRoom();
    }, delayMs);
  });
  const resumeIfRoom = (): void => {
    if (from.isPaused() && backlog() <= MAX_HELD) from.resume();
  };
  to.on('drain', resumeIfRoom);
  from.on('end', () => setTimeout(() => to.end(), delayMs + 1));
  from.on('error', () => to.destroy());
}

const [targetPort, delay] = process.argv.slice(2).map(Number);
if (!targetPort || !(delay! >= 0)) throw new Error('usage: delayProxy.ts TARGET_PORT DELAY_MS');
const server = createServer((client) => {
  const upstream = connect({ host: '127.0.0.1', port: targetPort, noDelay: true });
  client.setNoDelay(true);
  pipeDelayed(client, upstream, delay!);
  pipeDelayed(upstream, client, delay!);
  client.on('close', () => upstream.destroy());
  upstream.on('close', () => client.destroy());
});
server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  console.log(`PORT ${typeof addr === 'object' && addr ? addr.port : 0}`);
});
