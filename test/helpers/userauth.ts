/**
 * Just enough user authentication (RFC 4252 publickey) for transport tests
 * against OpenSSH: sshd only rekeys and compresses (zlib@openssh.com) after
 * authentication, so interop tests of those need to get that far.
 */
import { createSigner, generatePrivateKey } from '../../ts/crypto/index.js';
import type { Signer } from '../../ts/crypto/types.js';
import { AuthenticationException } from '../../ts/errors.js';
import type { Transport } from '../../ts/transport/index.js';
import { MSG, SSHReader, SSHWriter } from '../../ts/wire/index.js';

let userKey: Signer | null = null;

/** An Ed25519 user key (one per process). */
export function testUserKey(): Signer {
  userKey ??= createSigner(generatePrivateKey('ssh-ed25519'));
  return userKey;
}

/** The authorized_keys line for the test user key. */
export function authorizedKeyLine(): string {
  const k = testUserKey();
  return `${k.keyType} ${Buffer.from(k.publicKeyBlob).toString('base64')} sshwire-test`;
}

/** Requests ssh-userauth and authenticates `user` with the test key; resolves on USERAUTH_SUCCESS. */
export async function authenticate(t: Transport, user = 'root'): Promise<void> {
  await t.requestService('ssh-userauth');
  const key = testUserKey();
  const alg = key.signatureAlgorithms[0]!;
  // RFC 4252 section 7: the signature covers the session id, then the request up to the signature.
  const request = (w: SSHWriter): SSHWriter =>
    w.byte(MSG.USERAUTH_REQUEST).string(user).string('ssh-connection').string('publickey').boolean(true).string(alg).string(key.publicKeyBlob);
  const sig = await key.sign(alg, request(new SSHWriter(512).string(t.sessionId!)).toBytes());
  const sigBlob = new SSHWriter(128).string(alg).string(sig).toBytes();
  const done = new Promise<void>((resolve, reject) => {
    const off = t.onMessage((type, payload) => {
      if (type === MSG.USERAUTH_SUCCESS) {
        off();
        resolve();
      } else if (type === MSG.USERAUTH_FAILURE) {
        off();
        const r = new SSHReader(payload);
        r.byte();
        reject(new AuthenticationException(`publickey auth failed; can continue: ${r.ascii()}`));
      }
    });
    t.closed.then((e) => reject(e ?? new Error('closed')));
  });
  t.send(request(new SSHWriter(512)).string(sigBlob).toBytes());
  await done;
}
