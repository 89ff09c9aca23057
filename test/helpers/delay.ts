/**
 * A TCP forwarder on 127.0.0.1 that holds every chunk for a fixed time in
 * each direction, to give loopback tests and benchmarks a network's
 * round-trip time (netem is not available everywhere). Each direction
 * pauses its source while more than 16 MiB is held or unsent.
 */
import { createServer, connect, type Socket } from 'node:net';

const MAX_HELD = 16 * 1024 * 1024;

function pipeDelayed(from: Socket, to: Socket, delayMs: number): void {
  let held = 0;
  const backlog = (): number => held + to.writableLength;
  const resumeIfRoom = (): void => {
    if (from.isPaused() && backlog() <= MAX_HELD) from.resume();
  };
  from.on('data', (chunk: Buffer) => {
    held += chunk.length;
    if (backlog() > MAX_HELD) from.pause();
    setTimeout(() => {
      held -= chunk.length;
      to.write(chunk);
      resumeIfRoom();
    }, delayMs);
  });
  to.on('drain', resumeIfRoom);
  from.on('end', () => setTimeout(() => to.end(), delayMs + 1));
  from.on('error', () => to.destroy());
}

export interface DelayForwarder {
  port: number;
  close(): Promise<void>;
}

/** Forwards connections on an ephemeral port to 127.0.0.1:`targetPort`, `delayMs` each way. */
export function startDelayForwarder(targetPort: number, delayMs: number): Promise<DelayForwarder> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect({ host: '127.0.0.1', port: targetPort, noDelay: true });
    client.setNoDelay(true);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    pipeDelayed(client, upstream, delayMs);
    pipeDelayed(upstream, client, delayMs);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      resolve({
        port: typeof addr === 'object' && addr ? addr.port : 0,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
