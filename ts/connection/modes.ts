/**
 * Encoded terminal modes for `pty-req` (RFC 4254 section 8, plus IUTF8 from
 * RFC 8160): a sequence of (opcode byte, uint32 value) ending with opcode 0.
 */
import { ProtocolError, SSHException } from '../errors.js';

/** Opcode of each mode name. */
export const TERMINAL_MODES: Readonly<Record<string, number>> = {
  VINTR: 1, VQUIT: 2, VERASE: 3, VKILL: 4, VEOF: 5, VEOL: 6, VEOL2: 7, VSTART: 8, VSTOP: 9,
  VSUSP: 10, VDSUSP: 11, VREPRINT: 12, VWERASE: 13, VLNEXT: 14, VFLUSH: 15, VSWTCH: 16,
  VSTATUS: 17, VDISCARD: 18,
  IGNPAR: 30, PARMRK: 31, INPCK: 32, ISTRIP: 33, INLCR: 34, IGNCR: 35, ICRNL: 36, IUCLC: 37,
  IXON: 38, IXANY: 39, IXOFF: 40, IMAXBEL: 41, IUTF8: 42,
  ISIG: 50, ICANON: 51, XCASE: 52, ECHO: 53, ECHOE: 54, ECHOK: 55, ECHONL: 56, NOFLSH: 57,
  TOSTOP: 58, IEXTEN: 59, ECHOCTL: 60, ECHOKE: 61, PENDIN: 62,
  OPOST: 70, OLCUC: 71, ONLCR: 72, OCRNL: 73, ONOCR: 74, ONLRET: 75,
  CS7: 90, CS8: 91, PARENB: 92, PARODD: 93,
  TTY_OP_ISPEED: 128, TTY_OP_OSPEED: 129,
};

const NAME_OF: Readonly<Record<number, string>> = Object.fromEntries(Object.entries(TERMINAL_MODES).map(([k, v]) => [v, k]));

/** Opcodes 160-255 have no defined argument size, so parsing must stop there (RFC 4254 section 8). */
const LAST_SIZED_OPCODE = 159;
/** More entries than any real terminal needs; bounds work on hostile input. */
const MAX_MODES = 256;

/**
 * Encodes modes given by name (or by numeric opcode as a string) into the
 * wire form, terminated by TTY_OP_END. Unknown names are a user error.
 */
export function encodeTerminalModes(modes: Readonly<Record<string, number>>): Uint8Array {
  const entries = Object.entries(modes);
  const out = new Uint8Array(entries.length * 5 + 1);
  const view = new DataView(out.buffer);
  let off = 0;
  for (const [name, value] of entries) {
    const opcode = TERMINAL_MODES[name.toUpperCase()] ?? (/^\d+$/.test(name) ? Number(name) : undefined);
    if (opcode === undefined || opcode < 1 || opcode > LAST_SIZED_OPCODE) {
      throw new SSHException(`unknown terminal mode ${JSON.stringify(name)}`, { code: 'ERR_SSH_BAD_ARGUMENT' });
    }
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
      throw new SSHException(`terminal mode ${name} needs a uint32 value, got ${String(value)}`, { code: 'ERR_SSH_BAD_ARGUMENT' });
    }
    out[off] = opcode;
    view.setUint32(off + 1, value);
    off += 5;
  }
  out[off] = 0;
  return out;
}

/**
 * Decodes the wire form into a name → value record (unknown opcodes keep
 * their number as the name). Stops at TTY_OP_END or an opcode ≥ 160.
 */
export function decodeTerminalModes(bytes: Uint8Array): Record<string, number> {
  const out: Record<string, number> = {};
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = 0;
  let count = 0;
  while (off < bytes.length) {
    const opcode = bytes[off]!;
    if (opcode === 0 || opcode > LAST_SIZED_OPCODE) break;
    if (off + 5 > bytes.length) throw new ProtocolError('pty-req: truncated terminal mode');
    if (++count > MAX_MODES) throw new ProtocolError(`pty-req: more than ${MAX_MODES} terminal modes`);
    out[NAME_OF[opcode] ?? String(opcode)] = view.getUint32(off + 1);
    off += 5;
  }
  return out;
}
