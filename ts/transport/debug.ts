/**
 * Transport diagnostics: `NODE_DEBUG=sshwire` (util.debuglog) and an
 * optional `debug(message)` callback. Messages describe versions,
 * algorithm lists, negotiation, rekeys and disconnects; never keys or
 * secrets. Hexdumps of user-authentication requests are withheld because
 * they may carry passwords or keyboard-interactive answers.
 */
import { debuglog } from 'node:util';
import { MSG } from '../wire/index.js';

const nodeDebug = debuglog('sshwire');

/** A debug sink: a no-op unless NODE_DEBUG=sshwire or a callback is set. */
export type DebugSink = ((message: string) => void) & { enabled: boolean };

/** Creates the sink for one transport; `tag` prefixes every line (e.g. "client"). */
export function createDebugSink(tag: string, callback?: (message: string) => void): DebugSink {
  const enabled = nodeDebug.enabled || typeof callback === 'function';
  const sink = ((message: string) => {
    if (!enabled) return;
    const line = `[${tag}] ${message}`;
    if (nodeDebug.enabled) nodeDebug('%s', line);
    if (callback) {
      try {
        callback(line);
      } catch {
        // A faulty debug callback must not break the connection.
      }
    }
  }) as DebugSink;
  sink.enabled = enabled;
  return sink;
}

/** Message types whose payload must never be dumped: they can carry passwords. */
const REDACTED = new Set<number>([MSG.USERAUTH_REQUEST, MSG.USERAUTH_INFO_RESPONSE]);

/** A classic hex + ASCII dump of a payload, at most `limit` bytes shown. */
export function hexdump(direction: 'send' | 'recv', seq: number, payload: Uint8Array, limit = 2048): string {
  const type = payload.length > 0 ? payload[0]! : -1;
  const head = `${direction} packet seq ${seq} type ${type} (${payload.length} bytes)`;
  if (REDACTED.has(type)) return `${head} [payload withheld: may contain credentials]`;
  const lines: string[] = [head];
  const n = Math.min(payload.length, limit);
  for (let off = 0; off < n; off += 16) {
    let hex = '';
    let ascii = '';
    for (let i = off; i < off + 16; i++) {
      if (i < n) {
        const b = payload[i]!;
        hex += b.toString(16).padStart(2, '0') + ' ';
        ascii += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
      } else {
        hex += '   ';
      }
    }
    lines.push(`  ${off.toString(16).padStart(6, '0')}  ${hex} ${ascii}`);
  }
  if (n < payload.length) lines.push(`  ... ${payload.length - n} more bytes`);
  return lines.join('\n');
}

/** Makes text from the peer safe to log: printable, bounded. */
export function sanitize(s: string, max = 512): string {
  // eslint-disable-next-line no-control-regex
  return s.slice(0, max).replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '?');
}

/** Decodes peer text (DISCONNECT, DEBUG descriptions) without failing on bad UTF-8. */
export const lenientUtf8 = new TextDecoder('utf-8', { fatal: false });
