/**
 * Public keys: SSH blobs, OpenSSH one-line text (`ssh-ed25519 AAAA… comment`),
 * fingerprints, signature verification, and OpenSSH certificates.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createVerifier } from '../crypto/index.js';
import { KeyFormatError } from '../errors.js';
import { SSHReader, SSHWriter } from '../wire/index.js';
import { type Certificate, isCertificateType, parseCertificate } from './certificate.js';
import { fingerprintMd5, fingerprintSha256 } from './fingerprint.js';
import { ppkPublicKey, isPpk } from './ppkFormat.js';
import { asKeyFormat, bitsOf, decodeBase64Strict, decodePublicBlob, keyTypeForSignatureAlgorithm, type PublicParts } from './keyTypes.js';

/** Longer than any real key line; bounds the work hostile text can cause. */
const MAX_LINE = 64 * 1024;


const RFC4716_BEGIN = '---- BEGIN SSH2 PUBLIC KEY ----';
const RFC4716_END = '---- END SSH2 PUBLIC KEY ----';

/** A key in the RFC 4716 format: headers (`Comment:` kept, others skipped, `\\` continues a line), then base64. */
function fromRfc4716(text: string): PublicKey {
  const lines = text.trim().split(/\r\n|\r|\n/).map((l) => l.trimEnd());
  const end = lines.indexOf(RFC4716_END);
  if (end < 0 || lines.slice(end + 1).some((l) => l.trim() !== '')) throw new KeyFormatError(`RFC 4716 public key must end with "${RFC4716_END}"`);
  let comment = '';
  let i = 1;
  while (i < end && lines[i]!.includes(':')) {
    let header = lines[i++]!;
    while (header.endsWith('\\') && i < end) header = header.slice(0, -1) + lines[i++]!;
    const colon = header.indexOf(':');
    if (header.slice(0, colon).toLowerCase() === 'comment') comment = header.slice(colon + 1).trim().replace(/^"(.*)"$/s, '$1');
  }
  const blob = decodeBase64Strict(lines.slice(i, end).join('').replace(/\s+/g, ''), 'RFC 4716 public key data');
  return PublicKey.fromBlob(blob, comment);
}

/** An SSH public key (possibly an OpenSSH certificate). Immutable. */
export class PublicKey {
  /** The key type as it appears in the blob: `ssh-ed25519`, `ssh-rsa-cert-v01@openssh.com`, … */
  readonly keyType: string;
  /** The SSH public key blob. */
  readonly publicKeyBlob: Uint8Array;
  /** The comment from the key line, or ''. */
  readonly comment: string;
  /** The parsed certificate when this key is one. */
  readonly certificate: Certificate | undefined;
  /** The type-specific public parts (of the certified key, for a certificate). */
  readonly parts: PublicParts;

  private constructor(blob: Uint8Array, comment: string) {
    this.publicKeyBlob = blob;
    this.comment = comment;
    const type = asKeyFormat('public key blob', () => new SSHReader(blob, 'public key blob').ascii(256));
    this.keyType = type;
    if (isCertificateType(type)) {
      this.certificate = parseCertificate(blob);
      this.parts = this.certificate.key;
    } else {
      this.certificate = undefined;
      this.parts = decodePublicBlob(blob);
    }
  }

  /** A key from its SSH blob. Throws KeyFormatError for a malformed or unsupported blob. */
  static fromBlob(blob: Uint8Array, comment = ''): PublicKey {
    return new PublicKey(Uint8Array.from(blob), comment);
  }

  /**
   * A key from OpenSSH one-line text: `type base64 [comment]` (a `.pub` file
   * or one known_hosts/authorized_keys key field onward; the type must match
   * the blob's), from RFC 4716 text (`---- BEGIN SSH2 PUBLIC KEY ----`, as
   * `ssh-keygen -e` and PuTTYgen export it), or from a PuTTY `.ppk` file's
   * public half (no passphrase needed).
   */
  static fromString(text: string): PublicKey {
    if (text.length > MAX_LINE) throw new KeyFormatError('public key text is too long');
    if (isPpk(text)) {
      const { blob, comment } = ppkPublicKey(text);
      return new PublicKey(blob, comment);
    }
    if (text.trimStart().startsWith(RFC4716_BEGIN)) return fromRfc4716(text);
    const line = text.trim();
    const m = /^(\S+)\s+(\S+)(?:\s+(.*))?$/s.exec(line);
    if (!m) throw new KeyFormatError('public key line must be "<type> <base64> [comment]"');
    const [, type, b64, comment] = m;
    const blob = decodeBase64Strict(b64!, 'public key data');
    const key = new PublicKey(blob, (comment ?? '').trim());
    if (key.keyType !== type) throw new KeyFormatError(`public key line says "${type}" but its data is a "${key.keyType}" key`);
    return key;
  }

  /** A key from a `.pub` (or `-cert.pub`) file. */
  static fromFile(path: string): PublicKey {
    return PublicKey.fromString(readFileSync(path, 'utf8'));
  }

  /** A key from a file when `value` names one that exists, else from `value` as a key line. */
  static fromFileOrText(value: string): PublicKey {
    return existsSync(value) ? PublicKey.fromFile(value) : PublicKey.fromString(value);
  }

  /** The blob base64-encoded, as in key files (Paramiko's get_base64). */
  get base64(): string {
    return Buffer.from(this.publicKeyBlob).toString('base64');
  }

  /** `SHA256:…` as `ssh-keygen -l` prints. */
  get fingerprint(): string {
    return fingerprintSha256(this.publicKeyBlob);
  }

  /** `MD5:aa:bb:…` as `ssh-keygen -l -E md5` prints. */
  get md5Fingerprint(): string {
    return fingerprintMd5(this.publicKeyBlob);
  }

  /** The plain key type, the certified key's for a certificate. */
  get baseKeyType(): string {
    return this.parts.type;
  }

  /** true when this is an OpenSSH certificate (`certificate` is set). */
  get isCertificate(): boolean {
    return this.certificate !== undefined;
  }

  /** Significant bits of the key, as `ssh-keygen -l` prints. */
  getBits(): number {
    return bitsOf(this.parts);
  }

  /** OpenSSH one-line text: `type base64 [comment]`. */
  toString(): string {
    return `${this.keyType} ${this.base64}${this.comment ? ' ' + this.comment : ''}`;
  }

  /** Same blob (comments are not compared). A private key compares equal to its public key. */
  equals(other: { publicKeyBlob: Uint8Array } | null | undefined): boolean {
    if (!other) return false;
    return Buffer.from(this.publicKeyBlob).equals(other.publicKeyBlob);
  }

  /**
   * Verify `signature` (the inner blob) made with `algorithm` over `data`.
   * A certificate verifies with its certified key. Returns false (never
   * throws) for a signature that does not verify or an algorithm that does
   * not fit the key.
   */
  verify(algorithm: string, data: Uint8Array, signature: Uint8Array): boolean {
    if (keyTypeForSignatureAlgorithm(algorithm) !== this.baseKeyType) return false;
    const blob = this.certificate ? this.certificate.keyBlob : this.publicKeyBlob;
    try {
      return createVerifier(blob).verify(algorithm, data, signature);
    } catch {
      return false;
    }
  }

  /** Verify an SSH-encoded signature (`string algorithm, string blob`), as it travels in the protocol. */
  verifySshSignature(data: Uint8Array, sshSignature: Uint8Array): boolean {
    let algorithm: string;
    let blob: Uint8Array;
    try {
      const r = new SSHReader(sshSignature, 'signature');
      algorithm = r.ascii(256);
      blob = r.string();
      r.end();
    } catch {
      return false;
    }
    return this.verify(algorithm, data, blob);
  }
}

/** Encode a signature as it travels in the protocol: `string algorithm, string blob`. */
export function encodeSshSignature(algorithm: string, blob: Uint8Array): Uint8Array {
  return new SSHWriter(blob.length + 64).string(algorithm).string(blob).toBytes();
}
