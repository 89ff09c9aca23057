/**
 * Which keys the client offers, in Paramiko's order: explicit keys, then the
 * agent's, then key files found on disk. Explicit keys are loaded at once so
 * a wrong path or a missing passphrase is reported up front; agent and
 * discovered keys load only if the server allows publickey, and their
 * failures are skipped, not fatal.
 *
 * A key with an OpenSSH certificate (`<file>-cert.pub` beside a key file,
 * one of `certificates`, or one loaded with `PrivateKey.loadCertificate`)
 * is offered twice, as ssh does: first as the certificate, then plain.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { KeySource } from '../auth/index.js';
import type { Signer } from '../crypto/types.js';
import { certifiedSigner } from '../crypto/index.js';
import { SSHException } from '../errors.js';
import { AgentClient, isPrivateKeyText, PrivateKey, PublicKey } from '../keys/index.js';

/** A key as the options take it: a PrivateKey (or any Signer), key text/bytes, or a file path. */
export type KeyInput = string | Buffer | Uint8Array | PrivateKey | Signer;

export interface IdentityOptions {
  /** Explicit keys, tried first. */
  explicit?: readonly KeyInput[];
  /** Key file paths given explicitly (Paramiko's key_filename): failures are errors. */
  keyFiles?: readonly string[];
  /** Passphrase for encrypted keys (explicit and discovered). */
  passphrase?: string | Uint8Array;
  /** Agent socket path, an AgentClient, or false; default $SSH_AUTH_SOCK. */
  agent?: string | false | AgentClient;
  /** Key files to try when found (config IdentityFile, or the defaults). */
  discovered?: readonly string[];
  /** OpenSSH certificates (paths or `-cert.pub` text) to present with the keys they certify (config CertificateFile, AsyncSSH's client_certs). */
  certificates?: readonly (string | PublicKey)[];
  debug?: (message: string) => void;
}

/** The default key files, in the order they are tried. */
export function defaultKeyFiles(home = homedir()): string[] {
  return ['id_ed25519', 'id_ecdsa', 'id_rsa', 'id_dsa'].map((n) => join(home, '.ssh', n));
}

/** Loads one explicit key. Throws PasswordRequiredException for an encrypted key without (the right) passphrase. */
export function loadKey(input: KeyInput, passphrase?: string | Uint8Array): Signer {
  if (input instanceof PrivateKey) return input;
  if (typeof input === 'string') {
    if (isPrivateKeyText(input)) return PrivateKey.fromString(input, passphrase);
    // Paramiko: a `-cert.pub` path stands for the private key beside it plus that certificate.
    const keyPath = input.endsWith(CERT_FILE_SUFFIX) ? input.slice(0, -CERT_FILE_SUFFIX.length) : input;
    return withCertificateFile(PrivateKey.fromFile(keyPath, passphrase), keyPath);
  }
  if (input instanceof Uint8Array) return PrivateKey.fromString(input, passphrase);
  if (input && typeof input === 'object' && typeof (input as Signer).sign === 'function' && (input as Signer).publicKeyBlob instanceof Uint8Array) return input as Signer;
  throw new SSHException('a key must be a PrivateKey, a Signer, key text or bytes, or a file path', { code: 'ERR_SSH_BAD_OPTION' });
}

const CERT_FILE_SUFFIX = '-cert.pub';

/**
 * Attaches `<path>-cert.pub` to a key read from `path`, when that file holds
 * a certificate of the key (ssh's rule); anything else there is ignored.
 */
function withCertificateFile(key: PrivateKey, path: string, debug: (m: string) => void = () => {}): PrivateKey {
  const certPath = `${path}${CERT_FILE_SUFFIX}`;
  if (key.certificate || !existsSync(certPath)) return key;
  try {
    key.loadCertificate(PublicKey.fromFile(certPath));
    debug(`loaded certificate ${certPath}`);
  } catch (err) {
    debug(`ignoring ${certPath}: ${(err as Error).message}`);
  }
  return key;
}

/** The certificate form of a key (if it has one) ahead of the key itself. */
function offered(signer: Signer, certificates: readonly PublicKey[]): Signer[] {
  const own = signer instanceof PrivateKey ? signer.certificate : undefined;
  const certs = own ? [own] : certificates.filter((c) => c.certificate && Buffer.from(c.certificate.keyBlob).equals(signer.publicKeyBlob));
  return [...certs.map((c) => certifiedSigner(signer, c.publicKeyBlob)), signer];
}

/** The key sources for `authenticateClient`, in order, and a `dispose` that closes any agent connection opened for them. */
export function collectKeySources(opts: IdentityOptions): { sources: KeySource[]; dispose(): void } {
  const debug = opts.debug ?? (() => {});
  const sources: KeySource[] = [];
  const opened: AgentClient[] = [];
  const certificates = (opts.certificates ?? []).flatMap((c) => {
    try {
      const cert = c instanceof PublicKey ? c : PublicKey.fromFileOrText(c);
      if (cert.certificate) return [cert];
      debug('ignoring a certificate option that holds a plain key');
    } catch (err) {
      // As ssh with a CertificateFile it cannot read: note it and go on.
      debug(`ignoring certificate ${typeof c === 'string' ? c.slice(0, 200) : 'object'}: ${(err as Error).message}`);
    }
    return [];
  });
  for (const k of opts.explicit ?? []) sources.push(...offered(loadKey(k, opts.passphrase), certificates));
  for (const f of opts.keyFiles ?? []) sources.push(...offered(loadKey(f, opts.passphrase), certificates));

  if (opts.agent !== false) {
    const agent = opts.agent instanceof AgentClient ? opts.agent : (opts.agent ?? process.env.SSH_AUTH_SOCK);
    if (agent) {
      sources.push(async (session) => {
        let client: AgentClient;
        if (agent instanceof AgentClient) client = agent;
        else opened.push((client = new AgentClient(agent)));
        if (session.binding) {
          // As ssh: bind the agent connection to this session first, so destination-restricted keys may sign.
          await client.bindSession(session.binding.hostKey, session.sessionId, session.binding.signature).catch((err: Error) => {
            debug(`agent session-bind: ${err.message}`);
          });
        }
        const keys = await client.listIdentities();
        debug(`agent offers ${keys.length} key(s)`);
        return keys;
      });
    }
  }

  const discovered = opts.discovered ?? [];
  if (discovered.length > 0) {
    sources.push(() => {
      const out: Signer[] = [];
      for (const file of discovered) {
        if (!existsSync(file)) continue;
        try {
          out.push(...offered(withCertificateFile(PrivateKey.fromFile(file, opts.passphrase), file, debug), certificates));
          debug(`loaded key file ${file}`);
        } catch (err) {
          // Paramiko: an encrypted discovered key without its passphrase, or an
          // unreadable one, is skipped so the remaining methods still run.
          debug(`skipping key file ${file}: ${(err as Error).message}`);
        }
      }
      return out;
    });
  }
  return {
    sources,
    dispose() {
      for (const a of opened.splice(0)) a.close();
    },
  };
}
