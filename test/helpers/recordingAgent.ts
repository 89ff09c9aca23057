/**
 * A stand-in ssh-agent on a unix socket that records every request frame,
 * per connection, and answers each with what `reply` returns for it (a
 * message body; the frame length is added here). `close` cuts off the
 * connections still open.
 */
import * as net from 'node:net';

export interface RecordingAgent {
  /** Request bodies (type byte first), one array per connection, in order. */
  readonly connections: Uint8Array[][];
  close(): Promise<void>;
}

export async function recordingAgent(path: string, reply: (request: Uint8Array) => number[]): Promise<RecordingAgent> {
  const connections: Uint8Array[][] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    const frames: Uint8Array[] = [];
    connections.push(frames);
    let buf = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
        const body = Uint8Array.from(buf.subarray(4, 4 + buf.readUInt32BE(0)));
        buf = buf.subarray(4 + body.length);
        frames.push(body);
        const answer = Buffer.from(reply(body));
        const len = Buffer.alloc(4);
        len.writeUInt32BE(answer.length);
        sock.write(Buffer.concat([len, answer]));
      }
    });
    sock.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    connections,
    close: () => {
      // Clients that keep their connection open would hold server.close() up.
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
