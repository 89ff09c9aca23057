/**
 * The byte relay between a local socket (TCP or Unix) and a channel, used
 * by port forwarding and agent forwarding in both roles.
 *
 * Each direction is a stream pipe, so backpressure is end to end: a slow
 * socket reader pauses the channel, whose unread bytes hold back the window
 * credit and so stop the SSH peer; a channel out of window makes its writes
 * wait, which pauses the socket. A FIN from the socket becomes CHANNEL_EOF
 * and CHANNEL_EOF becomes a FIN, so half-closed conversations (send, shut
 * down the write side, read the answer) work; sockets must therefore be
 * created with `allowHalfOpen`.
 */
import type * as net from 'node:net';
import { SSHException } from '../errors.js';
import type { Channel } from './channel.js';

/**
 * Pipes `sock` and `ch` both ways until both are finished; `onDone` runs
 * once, after the socket closed and the channel's CLOSE went both ways (or
 * the connection ended), with the first error seen or null. Returns a
 * function that tears both down at once.
 */
export function relay(sock: net.Socket, ch: Channel, onDone: (err: Error | null) => void): () => void {
  let firstError: Error | null = null;
  let sockClosed = false;
  let chFinished = false;
  let reported = false;
  const report = (): void => {
    if (reported || !sockClosed || !chFinished) return;
    reported = true;
    onDone(firstError);
  };
  const abort = (): void => {
    sock.destroy();
    if (!ch.destroyed) ch.destroy();
  };

  sock.on('error', (err: Error) => {
    firstError ??= err;
    // The socket is destroyed by its own error; drop what was queued for the peer and close.
    if (!ch.destroyed) ch.destroy();
  });
  ch.on('error', (err: Error) => {
    firstError ??= err;
    sock.destroy();
  });
  sock.once('close', () => {
    sockClosed = true;
    // The TCP side is gone before the channel ended: CLOSE after what is still queued.
    if (!ch.isClosed) ch.close();
    // Already finished: free whatever the channel still buffers for the socket.
    else if (chFinished && !ch.destroyed) ch.destroy();
    report();
  });
  ch.exit.then(
    () => {
      chFinished = true;
      // The channel takes no more data: writing on would only raise write-after-end.
      sock.unpipe(ch);
      // The channel is done both ways; the pipe ends the socket once the
      // channel's data is drained into it, then nothing more can be relayed.
      if (sock.writableFinished || sock.destroyed) sock.destroy();
      else sock.once('finish', () => sock.destroy());
      // A socket nobody reads from would hold the channel's buffers forever.
      if (sockClosed && !ch.destroyed) ch.destroy();
      report();
    },
    (err: unknown) => {
      // The connection ended under the channel: nothing can be relayed any more.
      firstError ??= err instanceof Error ? err : new SSHException(String(err));
      chFinished = true;
      abort();
      report();
    },
  );

  sock.pipe(ch);
  ch.pipe(sock);
  return abort;
}
