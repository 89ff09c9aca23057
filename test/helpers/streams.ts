/** Stream helpers shared by the tests. */
import type { Readable } from 'node:stream';

/** Everything `stream` yields until its end, as UTF-8 text. */
export async function readText(stream: Readable): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(Buffer.isBuffer(c) ? c : Buffer.from(String(c)));
  return Buffer.concat(parts).toString('utf8');
}
