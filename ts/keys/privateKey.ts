/**
 * Private keys (Paramiko's PKey, in TypeScript names): reading OpenSSH, PEM
 * and PuTTY key files, generating keys, signing, and writing OpenSSH and
 * PuTTY formats.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createSigner, generatePrivateKey } from '../crypto/index.js';
import type { PrivateKeyMaterial, Signer } from '../crypto/types.js';
import { KeyFormatError, SSHException } from '../errors.js';
import { fingerprintMd5, fingerprintSha256 } from './fingerprint.js';
import { bitsOf, encodePublicBlob, isKeyType, type KeyType, MAX_RSA_BITS, MIN_RSA_BITS, publicPartsOf, signatureAlgorithmsFor } from './keyTypes.js';
import { type OpenSSHEncryption, type OpenSSHWriteOptions, parseOpenSSHPrivateKey, serializeOpenSSHPrivateKey } from './opensshFormat.js';
import { isEncryptedPem, parsePemPrivateKey } from './pemFormat.js';
import { isPpk, parsePpk, type PpkEncryption, type PpkWriteOptions, serializePpk } from './ppkFormat.js';
import { encodeSshSignature, PublicKey } from './publicKey.js';

/** Largest key file read; real keys are a few KiB. */
const MAX_KEY_FILE = 1024 * 1024;

const OPENSSH_ARMOR = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/;
const PEM_ARMOR = /-----BEGIN ((?:RSA |EC |DSA |ENCRYPTED )?PRIVATE KEY)-----[\s\S]*?-----END \1-----/;

function passphraseBytes(p: string | Uint8Array | undefined): Uint8Array | undefined {
  if (p === undefined) return undefined;
  return typeof p === 'string' ? new TextEncoder().encode(p) : p;
}

/** true when `s` is private key text (PEM-style armor or a PuTTY file) rather than a file path. */
export function isPrivateKeyText(s: string): boolean {
  return s.includes('-----BEGIN ') || isPpk(s);
}

/** Where a private key came from, and how it was protected. */
export interface PrivateKeySource {
  format: 'openssh' | 'pem' | 'ppk' | 'generated' | 'material';
  /** For encrypted keys: OpenSSH's cipher, kdf and rounds; PuTTY's version, cipher and Argon2 costs; or just `pem`. */
  encryption?: OpenSSHEncryption | PpkEncryption | { pem: true };
}

/** Material is reachable only from inside sshwire (the agent client needs it to add keys). */
const materials = new WeakMap<PrivateKey, PrivateKeyMaterial>();

/** The private material of a key. Internal: not exported from the package root. */
export function privateMaterialOf(key: PrivateKey): PrivateKeyMaterial {
  const m = materials.get(key);
  if (!m) throw new SSHException('not a PrivateKey');
  return m;
}

/** A private key able to make SSH signatures. */
export class PrivateKey implements Signer {
  /** The key type: `ssh-ed25519`, `ecdsa-sha2-nistp256|384|521`, `ssh-rsa` or `ssh-dss` (never a certificate type). */
  readonly keyType: KeyType;
  /** The SSH public key blob of the public half (RFC 4253 section 6.6). */
  readonly publicKeyBlob: Uint8Array;
  /**
   * Algorithms `sign` accepts, best first: for RSA `rsa-sha2-512`, `rsa-sha2-256`, `ssh-rsa`;
   * otherwise just `keyType`. Certificate algorithms are not listed even with `certificate` set.
   */
  readonly signatureAlgorithms: readonly string[];
  /** The key comment (from the file, or set by the user). */
  comment: string;
  /** Where the key came from (`openssh`, `pem`, `ppk`, `generated`, `material`) and, if the file was encrypted, how. */
  readonly source: PrivateKeySource;
  /** An OpenSSH certificate for this key, when loaded with `loadCertificate`. */
  certificate: PublicKey | undefined;
  #signer: Signer | undefined;

  private constructor(material: PrivateKeyMaterial, comment: string, source: PrivateKeySource) {
    materials.set(this, material);
    this.keyType = material.type;
    this.publicKeyBlob = encodePublicBlob(publicPartsOf(material));
    this.signatureAlgorithms = signatureAlgorithmsFor(material.type);
    this.comment = comment;
    this.source = source;
  }

  /** A key from parsed material (for example from the agent protocol or a generator). */
  static fromMaterial(material: PrivateKeyMaterial, comment = ''): PrivateKey {
    if (!isKeyType(material.type)) throw new KeyFormatError(`unsupported key type "${(material as { type: string }).type}"`);
    return new PrivateKey(material, comment, { format: 'material' });
  }

  /**
   * Read a private key from text or bytes in OpenSSH, PEM or PuTTY (`.ppk`
   * versions 2 and 3) format.
   * Throws PasswordRequiredException if it is encrypted and `passphrase` is
   * missing or wrong, KeyFormatError if it cannot be parsed.
   */
  static fromString(data: string | Uint8Array, passphrase?: string | Uint8Array): PrivateKey {
    if (data.length > MAX_KEY_FILE) throw new KeyFormatError('private key data is too large');
    const text = typeof data === 'string' ? data : Buffer.from(data).toString('latin1');
    const pass = passphraseBytes(passphrase);
    const openssh = OPENSSH_ARMOR.exec(text);
    if (openssh) {
      const body = openssh[1]!.replace(/\s+/g, '');
      if (body.length === 0 || body.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(body)) {
        throw new KeyFormatError('OpenSSH private key body is not valid base64');
      }
      const { material, comment, encryption } = parseOpenSSHPrivateKey(new Uint8Array(Buffer.from(body, 'base64')), pass);
      return new PrivateKey(material, comment, encryption ? { format: 'openssh', encryption } : { format: 'openssh' });
    }
    const pem = PEM_ARMOR.exec(text);
    if (pem) {
      const material = parsePemPrivateKey(pem[0], pass);
      return new PrivateKey(material, '', isEncryptedPem(pem[0]) ? { format: 'pem', encryption: { pem: true } } : { format: 'pem' });
    }
    if (isPpk(text)) {
      const { material, comment, encryption } = parsePpk(data, pass);
      return new PrivateKey(material, comment, encryption ? { format: 'ppk', encryption } : { format: 'ppk' });
    }
    if (/---- BEGIN SSH2 ENCRYPTED PRIVATE KEY|-----BEGIN PGP/.test(text)) {
      throw new KeyFormatError('unsupported private key format (ssh.com SSH2 and PGP keys are not supported: convert them with ssh-keygen -i)');
    }
    throw new KeyFormatError('not a private key: expected OpenSSH, PEM or PuTTY format');
  }

  /** Read a private key file (Paramiko's from_private_key_file). */
  static fromFile(path: string, passphrase?: string | Uint8Array): PrivateKey {
    let data: Buffer;
    try {
      data = readFileSync(path);
    } catch (e) {
      throw new KeyFormatError(`cannot read private key file ${path}: ${(e as Error).message}`, { cause: e });
    }
    return PrivateKey.fromString(data, passphrase);
  }

  /**
   * A new random key. `bits` picks the RSA modulus size (default 3072, as
   * ssh-keygen) or the ECDSA curve (256, 384, 521) when `type` is `ecdsa`.
   * DSA keys (`dsa`, Paramiko's DSSKey) are 1024 bits, as ssh-keygen makes them.
   */
  static generate(type: KeyType | 'ed25519' | 'ecdsa' | 'rsa' | 'dsa', bits?: number): PrivateKey {
    let keyType: KeyType;
    if (type === 'ed25519') keyType = 'ssh-ed25519';
    else if (type === 'rsa') keyType = 'ssh-rsa';
    else if (type === 'dsa') keyType = 'ssh-dss';
    else if (type === 'ecdsa') {
      const b = bits ?? 256;
      if (b !== 256 && b !== 384 && b !== 521) throw new KeyFormatError(`ECDSA keys are 256, 384 or 521 bits, not ${b}`);
      keyType = `ecdsa-sha2-nistp${b}`;
    } else if (isKeyType(type)) keyType = type;
    else throw new KeyFormatError(`cannot generate keys of type "${String(type)}"`);
    if (keyType === 'ssh-dss' && bits !== undefined && bits !== 1024) throw new KeyFormatError(`DSA keys are generated at 1024 bits, not ${bits}`);
    let rsaBits: number | undefined;
    if (keyType === 'ssh-rsa') {
      rsaBits = bits ?? 3072;
      if (!Number.isInteger(rsaBits) || rsaBits < MIN_RSA_BITS || rsaBits > MAX_RSA_BITS) {
        throw new KeyFormatError(`RSA key size must be ${MIN_RSA_BITS}..${MAX_RSA_BITS} bits`);
      }
    }
    return new PrivateKey(generatePrivateKey(keyType, rsaBits), '', { format: 'generated' });
  }

  /** The public half, with this key's comment. */
  get publicKey(): PublicKey {
    return PublicKey.fromBlob(this.publicKeyBlob, this.comment);
  }

  /** `SHA256:…` as `ssh-keygen -l` prints. */
  get fingerprint(): string {
    return fingerprintSha256(this.publicKeyBlob);
  }

  /** `MD5:aa:bb:…` as `ssh-keygen -l -E md5` prints. */
  get md5Fingerprint(): string {
    return fingerprintMd5(this.publicKeyBlob);
  }

  /** Significant bits of the key. */
  getBits(): number {
    return bitsOf(publicPartsOf(privateMaterialOf(this)));
  }

  /** The key type name (Paramiko's get_name). */
  getName(): string {
    return this.keyType;
  }

  /** The public blob in base64 (Paramiko's get_base64). */
  getBase64(): string {
    return Buffer.from(this.publicKeyBlob).toString('base64');
  }

  /** Always true: this key has its private half (Paramiko's can_sign). */
  canSign(): boolean {
    return true;
  }

  /** Same public key (comments not compared); works against a PublicKey too. */
  equals(other: { publicKeyBlob: Uint8Array } | null | undefined): boolean {
    return !!other && Buffer.from(this.publicKeyBlob).equals(other.publicKeyBlob);
  }

  /**
   * Sign `data` with `algorithm` (one of `signatureAlgorithms`) and return
   * the inner signature blob.
   */
  sign(algorithm: string, data: Uint8Array): Uint8Array {
    if (!this.signatureAlgorithms.includes(algorithm)) {
      throw new KeyFormatError(`a ${this.keyType} key cannot make ${algorithm} signatures`);
    }
    this.#signer ??= createSigner(privateMaterialOf(this));
    const sig = this.#signer.sign(algorithm, data);
    if (sig instanceof Promise) throw new SSHException('internal: a local signer returned a promise');
    return sig;
  }

  /** Sign and encode as the protocol carries it (`string algorithm, string blob`); Paramiko's sign_ssh_data. */
  signSshData(data: Uint8Array, algorithm: string = this.signatureAlgorithms[0]!): Uint8Array {
    return encodeSshSignature(algorithm, this.sign(algorithm, data));
  }

  /** Verify a signature with this key's public half. */
  verify(algorithm: string, data: Uint8Array, signature: Uint8Array): boolean {
    return PublicKey.fromBlob(this.publicKeyBlob).verify(algorithm, data, signature);
  }

  /**
   * The key in OpenSSH's private key format, encrypted with bcrypt_pbkdf and
   * aes256-ctr (or `opts.cipher`) when a passphrase is given.
   */
  toOpenSSH(passphrase?: string | Uint8Array, opts: Omit<OpenSSHWriteOptions, 'passphrase'> = {}): string {
    return serializeOpenSSHPrivateKey(privateMaterialOf(this), this.comment, passphrase === undefined ? opts : { ...opts, passphrase });
  }

  /**
   * The key as a PuTTY `.ppk` file (version 3 unless `opts.version` is 2),
   * encrypted with AES-256-CBC when a passphrase is given: version 3 keys
   * it with Argon2id (8 MiB, 16 passes unless `opts` says otherwise),
   * version 2 with SHA-1, as PuTTYgen does.
   */
  toPPK(passphrase?: string | Uint8Array, opts: Omit<PpkWriteOptions, 'passphrase'> = {}): string {
    return serializePpk(privateMaterialOf(this), this.comment, passphrase === undefined ? opts : { ...opts, passphrase });
  }

  /** Write the key in OpenSSH format to `path`, readable by its owner only (Paramiko's write_private_key_file). */
  writePrivateKeyFile(path: string, passphrase?: string | Uint8Array): void {
    writeFileSync(path, this.toOpenSSH(passphrase), { mode: 0o600 });
  }

  /**
   * Attach an OpenSSH certificate for this key (a `-cert.pub` file's text, a
   * PublicKey, or a certificate blob), for certificate authentication.
   * Throws KeyFormatError if it is not a certificate of this key.
   */
  loadCertificate(value: string | Uint8Array | PublicKey): void {
    const cert = value instanceof PublicKey ? value : typeof value === 'string' ? PublicKey.fromString(value) : PublicKey.fromBlob(value);
    if (!cert.certificate) throw new KeyFormatError('not an OpenSSH certificate');
    if (!Buffer.from(cert.certificate.keyBlob).equals(this.publicKeyBlob)) throw new KeyFormatError('certificate is for a different key');
    this.certificate = cert;
  }

  /** Keeps secrets out of logs: only the type and fingerprint are shown. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `PrivateKey { ${this.keyType} ${this.fingerprint}${this.comment ? ' ' + this.comment : ''} }`;
  }

  /** For `JSON.stringify`: `{ keyType, fingerprint, comment }` only, never private material. */
  toJSON(): object {
    return { keyType: this.keyType, fingerprint: this.fingerprint, comment: this.comment };
  }

  /** Paramiko's name for fromFile. */
  static fromPrivateKeyFile(path: string, passphrase?: string | Uint8Array): PrivateKey {
    return PrivateKey.fromFile(path, passphrase);
  }
}

/** Paramiko's name for the key class. */
export { PrivateKey as PKey };
