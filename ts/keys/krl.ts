/**
 * OpenSSH key revocation lists (PROTOCOL.krl), as `ssh-keygen -k` writes
 * them and sshd's RevokedKeys reads them: revoked plain keys (by blob,
 * SHA-1 or SHA-256 hash) and revoked certificates (by CA and serial
 * number, serial range, serial bitmap, or key ID). The optional signature
 * sections are skipped, as sshd skips them. Every length is bounded.
 */
import { createHash } from 'node:crypto';
import { KeyFormatError } from '../errors.js';
import { SSHReader } from '../wire/index.js';
import { asKeyFormat } from './keyTypes.js';
import type { PublicKey } from './publicKey.js';

const MAGIC = 'SSHKRL\n\0';
const FORMAT_VERSION = 1;
const SECTION = { CERTIFICATES: 1, EXPLICIT_KEY: 2, FINGERPRINT_SHA1: 3, SIGNATURE: 4, FINGERPRINT_SHA256: 5 } as const;
const CERT_SECTION = { SERIAL_LIST: 0x20, SERIAL_RANGE: 0x21, SERIAL_BITMAP: 0x22, KEY_ID: 0x23 } as const;
/** Largest KRL read (OpenSSH's own are far smaller). */
export const MAX_KRL_BYTES = 16 * 1024 * 1024;

/** Whether `data` starts with the KRL magic. */
export function isKrl(data: Uint8Array): boolean {
  return Buffer.from(data.subarray(0, MAGIC.length)).toString('latin1') === MAGIC;
}

/** What one certificates section revokes, for certificates signed by `ca` (null: by any CA). */
interface CertRevocations {
  ca: string | null;
  serials: Set<bigint>;
  ranges: [bigint, bigint][];
  /** Bitmaps: serial offset + bit index, bit 0 the least significant. */
  bitmaps: { offset: bigint; bits: bigint }[];
  keyIds: Set<string>;
}

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

/** Whether a section lists `serial` by value, range or bitmap. */
function serialListed(c: CertRevocations, serial: bigint): boolean {
  return (
    c.serials.has(serial) ||
    c.ranges.some(([lo, hi]) => serial >= lo && serial <= hi) ||
    c.bitmaps.some((m) => serial >= m.offset && ((m.bits >> (serial - m.offset)) & 1n) === 1n)
  );
}

/** A parsed KRL. */
export class KeyRevocationList {
  /** The KRL's version number (`krl_version`, `ssh-keygen -z`), meant to grow with each revision; informational. */
  readonly version: bigint;
  /** The comment from the KRL header, or ''. */
  readonly comment: string;
  readonly #keys = new Set<string>();
  readonly #sha1 = new Set<string>();
  readonly #sha256 = new Set<string>();
  readonly #certs: CertRevocations[] = [];

  /** Parses a KRL; KeyFormatError when it is malformed or not one. */
  constructor(data: Uint8Array) {
    if (data.length > MAX_KRL_BYTES) throw new KeyFormatError(`KRL of ${data.length} bytes is larger than ${MAX_KRL_BYTES}`);
    if (!isKrl(data)) throw new KeyFormatError('not an OpenSSH KRL (bad magic)');
    const parsed = asKeyFormat('KRL', () => {
      const r = new SSHReader(data, 'KRL', MAGIC.length);
      const format = r.uint32();
      if (format !== FORMAT_VERSION) throw new KeyFormatError(`KRL format version ${format} (only ${FORMAT_VERSION} is known)`);
      const version = r.uint64();
      r.uint64(); // generated date
      r.uint64(); // flags
      r.string(); // reserved
      const comment = r.utf8(64 * 1024);
      while (r.remaining > 0) this.#section(r.byte(), r.string(MAX_KRL_BYTES));
      return { version, comment };
    });
    this.version = parsed.version;
    this.comment = parsed.comment;
  }

  #section(type: number, body: Uint8Array): void {
    const r = new SSHReader(body, 'KRL section');
    switch (type) {
      case SECTION.CERTIFICATES:
        this.#certs.push(this.#certSection(r));
        return;
      case SECTION.EXPLICIT_KEY:
        while (r.remaining > 0) this.#keys.add(b64(r.string(64 * 1024)));
        return;
      case SECTION.FINGERPRINT_SHA1:
      case SECTION.FINGERPRINT_SHA256: {
        const [set, len] = type === SECTION.FINGERPRINT_SHA1 ? [this.#sha1, 20] : [this.#sha256, 32];
        while (r.remaining > 0) {
          const h = r.string(64);
          if (h.length !== len) throw new KeyFormatError(`KRL hash of ${h.length} bytes where ${len} belong`);
          set.add(b64(h));
        }
        return;
      }
      case SECTION.SIGNATURE:
        return; // not verified, as sshd does not
      default:
        throw new KeyFormatError(`unknown KRL section type ${type}`);
    }
  }

  #certSection(r: SSHReader): CertRevocations {
    const ca = r.string(64 * 1024);
    r.string(); // reserved
    const c: CertRevocations = { ca: ca.length === 0 ? null : b64(ca), serials: new Set(), ranges: [], bitmaps: [], keyIds: new Set() };
    while (r.remaining > 0) {
      const type = r.byte();
      const s = new SSHReader(r.string(MAX_KRL_BYTES), 'KRL certificate section');
      switch (type) {
        case CERT_SECTION.SERIAL_LIST:
          while (s.remaining > 0) c.serials.add(s.uint64());
          break;
        case CERT_SECTION.SERIAL_RANGE: {
          const lo = s.uint64();
          const hi = s.uint64();
          if (lo > hi) throw new KeyFormatError(`KRL serial range ${lo}-${hi} runs backwards`);
          c.ranges.push([lo, hi]);
          break;
        }
        case CERT_SECTION.SERIAL_BITMAP:
          c.bitmaps.push({ offset: s.uint64(), bits: s.mpint(MAX_KRL_BYTES) });
          break;
        case CERT_SECTION.KEY_ID:
          while (s.remaining > 0) c.keyIds.add(s.utf8(64 * 1024));
          break;
        default:
          throw new KeyFormatError(`unknown KRL certificate section type ${type}`);
      }
      s.end();
    }
    return c;
  }

  /** Whether a plain key blob is revoked (listed, or its SHA-1 / SHA-256 hash is). */
  #plainRevoked(blob: Uint8Array): boolean {
    return (
      this.#keys.has(b64(blob)) ||
      (this.#sha1.size > 0 && this.#sha1.has(b64(createHash('sha1').update(blob).digest()))) ||
      (this.#sha256.size > 0 && this.#sha256.has(b64(createHash('sha256').update(blob).digest())))
    );
  }

  /**
   * Whether `key` is revoked: a plain key by its blob or hash; a
   * certificate by its serial or key ID under its CA, or because its key or
   * its CA key is revoked. Serial 0, what a CA issues when given none, is
   * never revoked by serial (as OpenSSH's KRL check), only by key ID or key.
   */
  isRevoked(key: PublicKey): boolean {
    const cert = key.certificate;
    if (!cert) return this.#plainRevoked(key.publicKeyBlob);
    if (this.#plainRevoked(cert.keyBlob) || this.#plainRevoked(cert.signatureKey)) return true;
    const ca = b64(cert.signatureKey);
    return this.#certs.some(
      (c) =>
        (c.ca === null || c.ca === ca) &&
        (c.keyIds.has(cert.keyId) || (cert.serial !== 0n && serialListed(c, cert.serial))),
    );
  }
}
