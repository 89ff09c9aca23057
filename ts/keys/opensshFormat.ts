/**
 * The openssh-key-v1 private key format (OpenSSH's PROTOCOL.key): what
 * `-----BEGIN OPENSSH PRIVATE KEY-----` armors.
 *
 *   "openssh-key-v1\0" | string cipher | string kdf | string kdfoptions |
 *   uint32 nkeys (1) | string public blob | string private section [| tag]
 *
 * The private section is `uint32 check, uint32 check` (equal, random), then
 * per key `string type, private fields, string comment`, then padding bytes
 * 1, 2, 3, … to the cipher's block size. Equal check-ints after decryption
 * are how a wrong passphrase is told from a right one.
 */
import { randomBytes } from 'node:crypto';
import type { PrivateKeyMaterial } from '../crypto/types.js';
import { checkDsaPrivate } from '../crypto/dsa.js';
import { certAlgorithm } from '../crypto/index.js';
import { KeyFormatError, PasswordRequiredException } from '../errors.js';
import { SSHReader, SSHWriter } from '../wire/index.js';
import { bcryptPbkdf, MAX_BCRYPT_ROUNDS } from './bcryptPbkdf.js';
import { decryptPrivateSection, encryptPrivateSection, keyFileCipher, WRONG_PASSPHRASE } from './keyCiphers.js';
import {
  asKeyFormat, bitLength, checkEcPoint, ECDSA_CURVES, encodePublicBlob, isEcdsaType, MAX_RSA_BITS, MIN_RSA_BITS,
  padTo, publicPartsOf,
} from './keyTypes.js';

const MAGIC = new TextEncoder().encode('openssh-key-v1\0');
const MPINT_MAX = MAX_RSA_BITS / 8 + 1;

/** Encryption details of a parsed key file. */
export interface OpenSSHEncryption {
  cipher: string;
  kdf: string;
  rounds: number;
}

/** Ed25519's private fields: the public key, then seed || public key (the copy is wiped after). */
function writeEd25519Private(w: SSHWriter, m: Extract<PrivateKeyMaterial, { type: 'ssh-ed25519' }>): void {
  const sk = new Uint8Array(64);
  sk.set(m.seed, 0);
  sk.set(m.publicKey, 32);
  w.string(m.publicKey).string(sk);
  sk.fill(0);
}

/** Write a private key's type name and private fields as in the private section (and in agent ADD_IDENTITY). */
export function writePrivateFields(w: SSHWriter, m: PrivateKeyMaterial): void {
  w.string(m.type);
  switch (m.type) {
    case 'ssh-ed25519':
      writeEd25519Private(w, m);
      break;
    case 'ssh-rsa':
      w.mpintFromUnsigned(m.n).mpintFromUnsigned(m.e).mpintFromUnsigned(m.d)
        .mpintFromUnsigned(m.iqmp).mpintFromUnsigned(m.p).mpintFromUnsigned(m.q);
      break;
    case 'ssh-dss':
      w.mpintFromUnsigned(m.p).mpintFromUnsigned(m.q).mpintFromUnsigned(m.g).mpintFromUnsigned(m.y).mpintFromUnsigned(m.x);
      break;
    default:
      w.string(ECDSA_CURVES[m.type].sshName).string(m.q).mpintFromUnsigned(m.d);
  }
}

/**
 * The agent's ADD_IDENTITY body for a certified key (PROTOCOL.agent, as
 * ssh-add sends it): the certificate type and blob, then only the private
 * parts the certificate does not already carry.
 */
export function writeCertifiedPrivateFields(w: SSHWriter, m: PrivateKeyMaterial, certBlob: Uint8Array): void {
  w.string(certAlgorithm(m.type)).string(certBlob);
  switch (m.type) {
    case 'ssh-ed25519':
      writeEd25519Private(w, m);
      break;
    case 'ssh-rsa':
      w.mpintFromUnsigned(m.d).mpintFromUnsigned(m.iqmp).mpintFromUnsigned(m.p).mpintFromUnsigned(m.q);
      break;
    case 'ssh-dss':
      w.mpintFromUnsigned(m.x);
      break;
    default:
      w.mpintFromUnsigned(m.d);
  }
}

function toBig(b: Uint8Array): bigint {
  return b.length === 0 ? 0n : BigInt('0x' + Buffer.from(b).toString('hex'));
}

/** Check an RSA private key's parts fit together, so a damaged file is refused rather than making bad signatures. */
export function checkRsaMaterial(m: Extract<PrivateKeyMaterial, { type: 'ssh-rsa' }>): void {
  const bits = bitLength(m.n);
  if (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) throw new KeyFormatError(`ssh-rsa: modulus of ${bits} bits is outside ${MIN_RSA_BITS}..${MAX_RSA_BITS}`);
  const p = toBig(m.p);
  const q = toBig(m.q);
  if (p * q !== toBig(m.n)) throw new KeyFormatError('ssh-rsa: private key is inconsistent (p*q != n)');
  if ((q * toBig(m.iqmp)) % p !== 1n) throw new KeyFormatError('ssh-rsa: private key is inconsistent (iqmp)');
}

/** Read one key's private fields (after its type name). */
export function readPrivateFields(r: SSHReader, type: string): PrivateKeyMaterial {
  if (type === 'ssh-ed25519') {
    const publicKey = r.string(1024).slice();
    const sk = r.string(1024);
    if (publicKey.length !== 32 || sk.length !== 64) throw new KeyFormatError('ssh-ed25519: private key fields have the wrong length');
    if (!Buffer.from(sk.subarray(32)).equals(publicKey)) throw new KeyFormatError('ssh-ed25519: private key is inconsistent');
    return { type, seed: sk.slice(0, 32), publicKey };
  }
  if (isEcdsaType(type)) {
    const curve = r.ascii(64);
    if (curve !== ECDSA_CURVES[type].sshName) throw new KeyFormatError(`${type}: curve "${curve}" does not match the key type`);
    const q = r.string(1024).slice();
    checkEcPoint(type, q);
    const d = padTo(r.mpintBytes(128), ECDSA_CURVES[type].fieldBytes, `${type} private scalar`);
    return { type, d, q };
  }
  if (type === 'ssh-rsa') {
    const n = r.mpintBytes(MPINT_MAX).slice();
    const e = r.mpintBytes(MPINT_MAX).slice();
    const d = r.mpintBytes(MPINT_MAX).slice();
    const iqmp = r.mpintBytes(MPINT_MAX).slice();
    const p = r.mpintBytes(MPINT_MAX).slice();
    const q = r.mpintBytes(MPINT_MAX).slice();
    const m = { type, n, e, d, iqmp, p, q } as const;
    checkRsaMaterial(m);
    return m;
  }
  if (type === 'ssh-dss') {
    const [p, q, g, y, x] = [0, 1, 2, 3, 4].map(() => r.mpintBytes(MPINT_MAX).slice());
    const m = { type, p: p!, q: q!, g: g!, y: y!, x: x! } as const;
    checkDsaPrivate(m);
    return m;
  }
  throw new KeyFormatError(`unsupported private key type "${type}"`);
}

/** The public blob in the file header, readable without the passphrase. */
export function opensshPublicBlob(data: Uint8Array): Uint8Array {
  return asKeyFormat('OpenSSH private key', () => {
    const r = header(data);
    return r.publicBlob;
  });
}

function header(data: Uint8Array) {
  if (data.length < MAGIC.length || !Buffer.from(data.subarray(0, MAGIC.length)).equals(MAGIC)) {
    throw new KeyFormatError('not an openssh-key-v1 private key (bad magic)');
  }
  const r = new SSHReader(data, 'OpenSSH private key', MAGIC.length);
  const cipherName = r.ascii(64);
  const kdf = r.ascii(64);
  const kdfOptions = r.string(1024);
  const nkeys = r.uint32();
  if (nkeys !== 1) throw new KeyFormatError(`OpenSSH private key holds ${nkeys} keys; exactly one is supported`);
  const publicBlob = r.string(16384).slice();
  return { r, cipherName, kdf, kdfOptions, publicBlob };
}

/**
 * Parse an openssh-key-v1 binary (already base64-decoded). Throws
 * PasswordRequiredException when it is encrypted and `passphrase` is missing
 * or wrong, KeyFormatError when it is damaged or unsupported.
 */
export function parseOpenSSHPrivateKey(
  data: Uint8Array,
  passphrase: Uint8Array | undefined,
): { material: PrivateKeyMaterial; comment: string; encryption: OpenSSHEncryption | null } {
  return asKeyFormat('OpenSSH private key', () => {
    const { r, cipherName, kdf, kdfOptions, publicBlob } = header(data);
    const cipher = keyFileCipher(cipherName);
    const privateSection = r.string();
    const tag = r.raw(cipher.tagLength);
    r.end();

    let encryption: OpenSSHEncryption | null = null;
    let plain: Uint8Array;
    if (cipher.name === 'none') {
      if (kdf !== 'none') throw new KeyFormatError(`unencrypted private key names kdf "${kdf}"`);
      plain = privateSection;
    } else {
      if (kdf !== 'bcrypt') throw new KeyFormatError(`unsupported private key kdf "${kdf}"`);
      const kr = new SSHReader(kdfOptions, 'bcrypt kdf options');
      const salt = kr.string(1024);
      const rounds = kr.uint32();
      kr.end();
      if (rounds < 1 || rounds > MAX_BCRYPT_ROUNDS) throw new KeyFormatError(`bcrypt rounds ${rounds} out of range`);
      encryption = { cipher: cipher.name, kdf, rounds };
      if (passphrase === undefined) throw new PasswordRequiredException('private key is encrypted: a passphrase is required');
      if (passphrase.length === 0) throw new PasswordRequiredException(WRONG_PASSPHRASE);
      const derived = bcryptPbkdf(passphrase, salt, cipher.keyLength + cipher.ivLength, rounds);
      plain = decryptPrivateSection(cipher, derived.subarray(0, cipher.keyLength), derived.subarray(cipher.keyLength), privateSection, tag);
      derived.fill(0);
    }

    const pr = new SSHReader(plain, 'OpenSSH private section');
    const check1 = pr.uint32();
    const check2 = pr.uint32();
    if (check1 !== check2) {
      if (encryption) throw new PasswordRequiredException(WRONG_PASSPHRASE);
      throw new KeyFormatError('OpenSSH private key is corrupt (check values differ)');
    }
    const type = pr.ascii(256);
    const material = readPrivateFields(pr, type);
    const comment = pr.utf8(4096);
    const padding = pr.rest();
    for (let i = 0; i < padding.length; i++) {
      if (padding[i] !== ((i + 1) & 0xff)) throw new KeyFormatError('OpenSSH private key has bad padding');
    }
    // No bound on its length, as in OpenSSH: PuTTYgen pads to 16 bytes even when unencrypted.
    if (!Buffer.from(encodePublicBlob(publicPartsOf(material))).equals(publicBlob)) {
      throw new KeyFormatError('OpenSSH private key: public and private parts do not match');
    }
    return { material, comment, encryption };
  });
}

/** Options for writing an OpenSSH private key. */
export interface OpenSSHWriteOptions {
  /** Encrypt with this passphrase (none: unencrypted). */
  passphrase?: string | Uint8Array;
  /** Cipher when encrypting; default `aes256-ctr` like ssh-keygen. */
  cipher?: string;
  /** bcrypt_pbkdf rounds; default 16 like ssh-keygen. */
  rounds?: number;
}

/** Serialize to the armored `-----BEGIN OPENSSH PRIVATE KEY-----` text ssh-keygen writes. */
export function serializeOpenSSHPrivateKey(m: PrivateKeyMaterial, comment: string, opts: OpenSSHWriteOptions = {}): string {
  const encrypted = opts.passphrase !== undefined && opts.passphrase.length > 0;
  const cipher = keyFileCipher(encrypted ? (opts.cipher ?? 'aes256-ctr') : 'none');
  if (encrypted && cipher.name === 'none') throw new KeyFormatError('cannot encrypt with cipher "none"');
  const rounds = opts.rounds ?? 16;
  const salt = randomBytes(16);

  const check = randomBytes(4);
  const pw = new SSHWriter(512);
  pw.raw(check).raw(check);
  writePrivateFields(pw, m);
  pw.string(comment);
  for (let i = 1; pw.length % cipher.blockSize !== 0; i++) pw.byte(i);
  const plain = pw.toBytes();
  pw.bytes().fill(0);

  let section: Uint8Array = plain;
  let tag: Uint8Array = new Uint8Array(0);
  const w = new SSHWriter(1024);
  w.raw(MAGIC).string(cipher.name);
  if (encrypted) {
    const pass = typeof opts.passphrase === 'string' ? new TextEncoder().encode(opts.passphrase) : opts.passphrase!;
    const derived = bcryptPbkdf(pass, salt, cipher.keyLength + cipher.ivLength, rounds);
    ({ data: section, tag } = encryptPrivateSection(cipher, derived.subarray(0, cipher.keyLength), derived.subarray(cipher.keyLength), plain));
    derived.fill(0);
    plain.fill(0);
    w.string('bcrypt').string(new SSHWriter(32).string(salt).uint32(rounds).toBytes());
  } else {
    w.string('none').string(new Uint8Array(0));
  }
  w.uint32(1).string(encodePublicBlob(publicPartsOf(m))).string(section).raw(tag);
  const b64 = Buffer.from(w.bytes()).toString('base64');
  if (!encrypted) w.bytes().fill(0);
  const lines = b64.match(/.{1,70}/g) ?? [];
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

