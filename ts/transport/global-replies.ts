/**
 * Matching REQUEST_SUCCESS / REQUEST_FAILURE to want-reply GLOBAL_REQUESTs
 * (RFC 4254 section 4): replies come back in request order, so a FIFO of
 * who asked is enough. The transport's own keepalive probes are answered to
 * the keepalive; everything else goes to the upper layer.
 */
import { ProtocolError } from '../errors.js';
import { SSHReader } from '../wire/index.js';

export type ReplyOwner = 'upper' | 'keepalive';

export class GlobalReplies {
  /** Who asked each outstanding want-reply GLOBAL_REQUEST, in wire order. */
  readonly #owners: ReplyOwner[] = [];
  #head = 0;

  /** A want-reply GLOBAL_REQUEST from `owner` is going out. */
  expect(owner: ReplyOwner): void {
    this.#owners.push(owner);
  }

  /** A reply (of type `type`) arrived: whose is it? Throws ProtocolError when nothing is outstanding. */
  take(type: number): ReplyOwner {
    if (this.#head >= this.#owners.length) throw new ProtocolError(`unsolicited global request reply (${type})`);
    const owner = this.#owners[this.#head++]!;
    if (this.#head === this.#owners.length) {
      this.#owners.length = 0;
      this.#head = 0;
    }
    return owner;
  }
}

/** Whether a GLOBAL_REQUEST payload has want-reply set (false when it is malformed). */
export function wantsReply(payload: Uint8Array): boolean {
  try {
    const r = new SSHReader(payload, 'GLOBAL_REQUEST');
    r.byte();
    r.string(1024);
    return r.boolean();
  } catch {
    return false;
  }
}
