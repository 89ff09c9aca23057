/**
 * Channel request bodies (RFC 4254 sections 6 and 7, and the OpenSSH
 * extensions in its PROTOCOL file): typed parsing for the side that answers
 * them, encoding helpers for the side that sends them.
 */
import { ProtocolError } from '../errors.js';
import { SSHReader, SSHWriter } from '../wire/index.js';
import { LIMITS } from './constants.js';
import { sshString } from './messages.js';
import { decodeTerminalModes } from './modes.js';

/** How a process ended by a signal (`exit-signal`). `name` has no "SIG" prefix. */
export interface ExitSignal {
  /** Signal name without the `SIG` prefix, e.g. `TERM`. */
  name: string;
  /** Whether the process dumped core. */
  coreDumped: boolean;
  /** Error message from the server; may be empty. */
  message: string;
  /** Language tag of `message` (RFC 3066); usually empty. */
  lang?: string;
}

/** A request the peer made on a channel, as parsed by `parseChannelRequest`. */
export type ParsedChannelRequest =
  | { type: 'pty-req'; term: string; cols: number; rows: number; width: number; height: number; modes: Record<string, number>; rawModes: Uint8Array }
  | { type: 'env'; name: string; value: string }
  | { type: 'exec'; command: string; commandBytes: Uint8Array }
  | { type: 'shell' }
  | { type: 'subsystem'; name: string }
  | { type: 'window-change'; cols: number; rows: number; width: number; height: number }
  | { type: 'signal'; name: string }
  | { type: 'break'; ms: number }
  | { type: 'x11-req'; singleConnection: boolean; authProtocol: string; authCookie: string; screen: number }
  | { type: 'auth-agent-req@openssh.com' }
  | { type: 'xon-xoff'; clientCanDo: boolean }
  | { type: 'exit-status'; exitStatus: number }
  | ({ type: 'exit-signal' } & ExitSignal)
  | { type: 'eow@openssh.com' }
  | { type: 'keepalive@openssh.com' };

const lenient = new TextDecoder('utf-8', { fatal: false });
/** Commands and environment values may be long, but not unboundedly so. */
const MAX_COMMAND = 256 * 1024;

/**
 * Parses the type-specific part of a channel request. Returns null for a
 * request type it does not know. Malformed bodies are a ProtocolError.
 */
export function parseChannelRequest(type: string, data: Uint8Array): ParsedChannelRequest | null {
  const r = new SSHReader(data, `channel request ${type}`);
  let out: ParsedChannelRequest;
  switch (type) {
    case 'pty-req': {
      const term = r.ascii(LIMITS.name);
      const cols = r.uint32();
      const rows = r.uint32();
      const width = r.uint32();
      const height = r.uint32();
      const rawModes = r.string(LIMITS.text);
      out = { type, term, cols, rows, width, height, rawModes, modes: decodeTerminalModes(rawModes) };
      break;
    }
    case 'env':
      out = { type, name: r.utf8(LIMITS.name), value: lenient.decode(r.string(MAX_COMMAND)) };
      break;
    case 'exec': {
      const commandBytes = r.string(MAX_COMMAND);
      out = { type, commandBytes, command: lenient.decode(commandBytes) };
      break;
    }
    case 'shell':
    case 'auth-agent-req@openssh.com':
    case 'eow@openssh.com':
    case 'keepalive@openssh.com':
      out = { type };
      break;
    case 'subsystem':
      out = { type, name: r.utf8(LIMITS.name) };
      break;
    case 'window-change':
      out = { type, cols: r.uint32(), rows: r.uint32(), width: r.uint32(), height: r.uint32() };
      break;
    case 'signal':
      out = { type, name: r.ascii(LIMITS.name) };
      break;
    case 'break':
      out = { type, ms: r.uint32() };
      break;
    case 'x11-req':
      out = { type, singleConnection: r.boolean(), authProtocol: r.ascii(LIMITS.name), authCookie: r.ascii(LIMITS.text), screen: r.uint32() };
      break;
    case 'xon-xoff':
      out = { type, clientCanDo: r.boolean() };
      break;
    case 'exit-status':
      out = { type, exitStatus: r.uint32() };
      break;
    case 'exit-signal': {
      const name = r.ascii(LIMITS.name);
      const coreDumped = r.boolean();
      const message = lenient.decode(r.string(LIMITS.text));
      // Some servers omit the language tag; accept its absence.
      const lang = r.remaining > 0 ? r.ascii(LIMITS.name) : '';
      out = { type, name, coreDumped, message, lang };
      break;
    }
    default:
      return null;
  }
  // Trailing bytes are tolerated for the keepalive-style requests only.
  if (r.remaining > 0 && type !== 'keepalive@openssh.com' && type !== 'eow@openssh.com') {
    throw new ProtocolError(`channel request ${type}: ${r.remaining} unexpected trailing bytes`);
  }
  return out;
}

/** Body of a `pty-req`. */
export function encodePtyRequest(term: string, cols: number, rows: number, width: number, height: number, modes: Uint8Array): Uint8Array {
  return new SSHWriter(64 + term.length + modes.length).string(term).uint32(cols).uint32(rows).uint32(width).uint32(height).string(modes).toBytes();
}

/** Body of an `exit-signal`. */
export function encodeExitSignal(sig: ExitSignal): Uint8Array {
  return new SSHWriter(64 + sig.message.length * 3)
    .string(sig.name)
    .boolean(sig.coreDumped)
    .string(sig.message)
    .string(sig.lang ?? '')
    .toBytes();
}

/** Body of a single-string request (`exec`, `subsystem`, `signal`). */
export function encodeString(s: string | Uint8Array): Uint8Array {
  return sshString(s);
}

/** Extra data of `direct-tcpip` and `forwarded-tcpip` opens (RFC 4254 sections 7.1 and 7.2). */
export interface TcpipOpenData {
  /** direct-tcpip: host to connect to; forwarded-tcpip: address that was connected. */
  host: string;
  port: number;
  originHost: string;
  originPort: number;
}

export function encodeTcpipOpenData(d: TcpipOpenData): Uint8Array {
  return new SSHWriter(64 + d.host.length + d.originHost.length).string(d.host).uint32(d.port).string(d.originHost).uint32(d.originPort).toBytes();
}

export function parseTcpipOpenData(data: Uint8Array): TcpipOpenData {
  const r = new SSHReader(data, 'tcpip channel open');
  const out = { host: r.utf8(LIMITS.name), port: r.uint32(), originHost: r.utf8(LIMITS.name), originPort: r.uint32() };
  r.end();
  return out;
}
