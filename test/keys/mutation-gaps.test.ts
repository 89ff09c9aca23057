/**
 * Keys-layer checks that no other test could fail on, each found by a
 * mutation audit (the mutation it kills is named above each test):
 * certificate validity bounds, user/host type and principal rules, critical
 * options; known_hosts revocation of a certified key, hashed names looked up
 * case-insensitively, negated patterns in any position; KRL serial ranges
 * inclusive at both ends; authorized_keys principals= replacing the user
 * name; the agent's constraint encoding, RSA sign flags and its check of the
 * algorithm it signed with. Certificates and KRLs are built here byte by
 * byte (PROTOCOL.certkeys, PROTOCOL.krl) so times and serials are exact; the
 * agent is a fake unix-socket server recording what it is sent.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AgentClient, checkCertificate, findAuthorizedKey, hashHostname, HostKeys, KeyRevocationList, matchPatternList,
  parseAuthorizedKeys, PrivateKey, PublicKey,
} from '../../ts/keys/index.js';
import { SSHReader, SSHWriter } from '../../ts/wire/index.js';
import { makeTempDir } from './helpers.js';

let tmp: { dir: string; cleanup: () => void };
let ca: PrivateKey;
let hostKey: PrivateKey;
let userKey: PrivateKey;
const NOW = BigInt(Math.floor(Date.now() / 1000));

beforeAll(() => {
  tmp = makeTempDir('sshwire-mutgaps-');
  ca = PrivateKey.generate('ed25519');
  hostKey = PrivateKey.generate('ecdsa', 256);
  userKey = PrivateKey.generate('ed25519');
});
afterAll(() => tmp?.cleanup());

interface CertSpec {
  type: 1 | 2;
  principals?: string[];
  validAfter?: bigint;
  validBefore?: bigint;
  serial?: bigint;
  keyId?: string;
  critical?: [string, string][];
  extensions?: [string, string][];
  signer?: PrivateKey;
}

/** An OpenSSH certificate of `key`, laid out as PROTOCOL.certkeys says and signed by `spec.signer` (default: the CA). */
function certify(key: PrivateKey, spec: CertSpec): PublicKey {
  const signer = spec.signer ?? ca;
  const r = new SSHReader(key.publicKeyBlob);
  const keyType = r.ascii();
  const fields = r.rest();
  const options = (list: [string, string][] = []) => {
    const w = new SSHWriter();
    for (const [name, value] of list) w.string(name).string(value === '' ? new Uint8Array(0) : new SSHWriter().string(value).toBytes());
    return w.toBytes();
  };
  const principals = new SSHWriter();
  for (const p of spec.principals ?? []) principals.string(p);
  const body = new SSHWriter()
    .string(`${keyType}-cert-v01@openssh.com`)
    .string(randomBytes(32))
    .raw(fields)
    .uint64(spec.serial ?? 1n)
    .uint32(spec.type)
    .string(spec.keyId ?? 'test')
    .string(principals.toBytes())
    .uint64(spec.validAfter ?? NOW - 300n)
    .uint64(spec.validBefore ?? NOW + 3600n)
    .string(options(spec.critical))
    .string(options(spec.extensions))
    .string(new Uint8Array(0))
    .string(signer.publicKeyBlob)
    .toBytes();
  const sig = signer.signSshData(body);
  return PublicKey.fromBlob(new SSHWriter().raw(body).string(sig).toBytes());
}

const at = (seconds: bigint) => new Date(Number(seconds) * 1000);

describe('certificate validity and type rules (checkCertificate)', () => {
  // Mutation: `now > validBefore` instead of `now >= validBefore` (PROTOCOL.certkeys: valid while valid_after <= now < valid_before).
  it('a certificate is expired at its validBefore second, valid one second earlier', () => {
    const before = NOW + 1000n;
    const cert = certify(userKey, { type: 1, principals: ['alice'], validBefore: before }).certificate!;
    expect(checkCertificate(cert, { type: 'user', principal: 'alice', now: at(before - 1n) })).toBeNull();
    expect(checkCertificate(cert, { type: 'user', principal: 'alice', now: at(before) })).toMatch(/expired/);
  });

  // Mutation: validAfter not checked.
  it('a certificate is not valid before its validAfter second, valid from it', () => {
    const after = NOW + 1000n;
    const cert = certify(userKey, { type: 1, principals: ['alice'], validAfter: after }).certificate!;
    expect(checkCertificate(cert, { type: 'user', principal: 'alice', now: at(after - 1n) })).toMatch(/not yet valid/);
    expect(checkCertificate(cert, { type: 'user', principal: 'alice', now: at(after) })).toBeNull();
    // known_hosts, which checks at the current time, refuses it too.
    const hostCert = certify(hostKey, { type: 2, principals: ['h.example.com'], validAfter: NOW + 3600n });
    const hk = new HostKeys();
    hk.loadText(`@cert-authority *.example.com ${ca.publicKey.keyType} ${ca.publicKey.base64}\n`);
    const v = hk.verify('h.example.com', 22, hostCert);
    expect(v.status).toBe('unknown');
    expect(v.reason).toMatch(/not yet valid/);
  });

  // Mutation: a user certificate with an empty principal list was accepted for any user.
  it('a user certificate without principals is refused when a principal is asked for; a host one is not', () => {
    const user = certify(userKey, { type: 1 }).certificate!;
    expect(checkCertificate(user, { type: 'user', principal: 'alice' })).toMatch(/lacks a principal list/);
    const host = certify(hostKey, { type: 2 }).certificate!;
    expect(checkCertificate(host, { type: 'host', principal: 'any.example.com' })).toBeNull();
  });

  // Mutation: the user/host type of a certificate was not checked.
  it('a user certificate is no host certificate for known_hosts, and a host certificate no user certificate for authorized_keys', () => {
    const hk = new HostKeys();
    hk.loadText(`@cert-authority *.example.com ${ca.publicKey.keyType} ${ca.publicKey.base64}\n`);
    const userCertOfHostKey = certify(hostKey, { type: 1, principals: ['h.example.com'] });
    const v = hk.verify('h.example.com', 22, userCertOfHostKey);
    expect(v.status).toBe('unknown');
    expect(v.reason).toMatch(/not a host certificate/);
    expect(hk.verify('h.example.com', 22, certify(hostKey, { type: 2, principals: ['h.example.com'] })).status).toBe('match');

    const entries = parseAuthorizedKeys(`cert-authority ${ca.publicKey.toString()}`).entries;
    expect(findAuthorizedKey(entries, certify(userKey, { type: 2, principals: ['alice'] }).publicKeyBlob, { username: 'alice' })).toBeNull();
    expect(findAuthorizedKey(entries, certify(userKey, { type: 1, principals: ['alice'] }).publicKeyBlob, { username: 'alice' })?.line).toBe(entries[0]!.line);
  });

  // Mutation: a cert-authority line accepted a certificate without comparing its CA key with the line's key.
  it('a cert-authority line accepts only certificates its own key signed', () => {
    const entries = parseAuthorizedKeys(`cert-authority ${ca.publicKey.toString()}`).entries;
    const otherCa = PrivateKey.generate('ed25519');
    const foreign = certify(userKey, { type: 1, principals: ['alice'], signer: otherCa });
    expect(foreign.certificate!.signatureKey).toEqual(otherCa.publicKeyBlob);
    expect(findAuthorizedKey(entries, foreign.publicKeyBlob, { username: 'alice' })).toBeNull();
    expect(findAuthorizedKey(entries, certify(userKey, { type: 1, principals: ['alice'] }).publicKeyBlob, { username: 'alice' })).not.toBeNull();
  });

  // Mutation: with principals="…" on the cert-authority line, the login name was accepted as well.
  it('principals= replaces the user name: a certificate for "alice" does not pass a line allowing only "ops"', () => {
    const entries = parseAuthorizedKeys(`cert-authority,principals="ops" ${ca.publicKey.toString()}`).entries;
    const alice = certify(userKey, { type: 1, principals: ['alice'] });
    expect(findAuthorizedKey(entries, alice.publicKeyBlob, { username: 'alice' })).toBeNull();
    const ops = certify(userKey, { type: 1, principals: ['ops'] });
    expect(findAuthorizedKey(entries, ops.publicKeyBlob, { username: 'alice' })?.line).toBe(entries[0]!.line);
  });

  // PROTOCOL.certkeys: "If an implementation does not recognise a critical option, it MUST reject the certificate."
  // sshd (auth-options.c) refuses a user certificate with an unknown critical option ("Certificate critical
  // option ... is not supported"), and ssh (sshconnect.c check_host_cert) a host certificate with any critical option.
  // Before checkCertificate refused them, such certificates were accepted (our server let in a user
  // certificate sshd refuses). verify-required is refused as well: sshwire has no FIDO signatures to check it on.
  it('a user certificate with a critical option nobody knows authorizes nothing in authorized_keys', () => {
    const entries = parseAuthorizedKeys(`cert-authority ${ca.publicKey.toString()}`).entries;
    const plain = certify(userKey, { type: 1, principals: ['alice'] });
    expect(findAuthorizedKey(entries, plain.publicKeyBlob, { username: 'alice' })?.line).toBe(entries[0]!.line);
    const odd = certify(userKey, { type: 1, principals: ['alice'], critical: [['unknown-option@example.com', 'x']] });
    expect(findAuthorizedKey(entries, odd.publicKeyBlob, { username: 'alice' })).toBeNull();
    const verify = certify(userKey, { type: 1, principals: ['alice'], critical: [['verify-required', '']] });
    expect(findAuthorizedKey(entries, verify.publicKeyBlob, { username: 'alice' })).toBeNull();
    const known = certify(userKey, { type: 1, principals: ['alice'], critical: [['force-command', 'true'], ['source-address', '127.0.0.1']] });
    expect(findAuthorizedKey(entries, known.publicKeyBlob, { username: 'alice', clientAddress: '127.0.0.1' })?.options.command).toBe('true');
  });

  it('a host certificate with a critical option is not vouched for by @cert-authority', () => {
    const hk = new HostKeys();
    hk.loadText(`@cert-authority *.example.com ${ca.publicKey.keyType} ${ca.publicKey.base64}\n`);
    expect(hk.verify('h.example.com', 22, certify(hostKey, { type: 2, principals: ['h.example.com'] })).status).toBe('match');
    const odd = certify(hostKey, { type: 2, principals: ['h.example.com'], critical: [['unknown-option@example.com', 'x']] });
    expect(hk.verify('h.example.com', 22, odd).status).not.toBe('match');
  });
});

describe('known_hosts', () => {
  // Mutation: for a certificate, only its CA key (not the certified key) was compared with @revoked lines.
  it('@revoked naming a host key also revokes a valid certificate of that key', () => {
    const hk = new HostKeys();
    hk.loadText(
      `@cert-authority *.example.com ${ca.publicKey.keyType} ${ca.publicKey.base64}\n` +
      `@revoked * ${hostKey.publicKey.keyType} ${hostKey.publicKey.base64}\n`,
    );
    const cert = certify(hostKey, { type: 2, principals: ['h.example.com'] });
    expect(hk.verify('h.example.com', 22, cert)).toEqual({ status: 'revoked', line: { file: '<string>', lineNumber: 2 } });
    expect(hk.check('h.example.com', cert)).toBe(false);
  });

  // Mutation: a hashed entry was compared with the host name as given, not lowercased (OpenSSH lowercases before hashing).
  it('hashed entries match the host name in any case, with and without a port', () => {
    const hk = new HostKeys();
    hk.loadText(
      `${hashHostname('host.example.com')} ${hostKey.publicKey.keyType} ${hostKey.publicKey.base64}\n` +
      `${hashHostname('[host.example.com]:2222')} ${userKey.publicKey.keyType} ${userKey.publicKey.base64}\n`,
    );
    expect(hk.verify('Host.Example.COM', 22, hostKey.publicKey).status).toBe('match');
    expect(hk.verify('HOST.example.com', 2222, userKey.publicKey).status).toBe('match');
    expect(hk.lookup('HOST.EXAMPLE.COM')?.get(hostKey.keyType)?.equals(hostKey.publicKey)).toBe(true);
  });

  // Mutation: a negated pattern only cancelled positive patterns before it, so its place in the list mattered.
  it('a negated pattern wins wherever it stands in the list', () => {
    expect(matchPatternList('bad.example.com', ['!bad.example.com', '*.example.com'])).toBe(-1);
    expect(matchPatternList('bad.example.com', ['*.example.com', '!bad.example.com'])).toBe(-1);
    const hk = new HostKeys();
    hk.loadText(`!bad.example.com,*.example.com ${hostKey.publicKey.keyType} ${hostKey.publicKey.base64}\n`);
    expect(hk.verify('good.example.com', 22, hostKey.publicKey).status).toBe('match');
    expect(hk.verify('bad.example.com', 22, hostKey.publicKey).status).toBe('unknown');
  });
});

describe('KRL serial ranges', () => {
  /** A KRL (PROTOCOL.krl) with one certificates section for the CA: a serial range. */
  function krlWithRange(lo: bigint, hi: bigint): KeyRevocationList {
    const range = new SSHWriter().uint64(lo).uint64(hi).toBytes();
    const section = new SSHWriter().string(ca.publicKeyBlob).string('').byte(0x21).string(range).toBytes();
    const krl = new SSHWriter()
      .raw(Buffer.from('SSHKRL\n\0', 'latin1'))
      .uint32(1)
      .uint64(1n)
      .uint64(NOW)
      .uint64(0n)
      .string('')
      .string('')
      .byte(1)
      .string(section)
      .toBytes();
    return new KeyRevocationList(krl);
  }

  // Mutation: `serial < hi` instead of `serial <= hi` (both ends of a KRL range are revoked).
  it('both ends of a range are revoked, the serials just outside are not', () => {
    const krl = krlWithRange(100n, 200n);
    const revoked = (serial: bigint) => krl.isRevoked(certify(userKey, { type: 1, principals: ['u'], serial }));
    expect([99n, 100n, 150n, 200n, 201n].map(revoked)).toEqual([false, true, true, true, false]);
  });
});

describe('agent client requests', () => {
  interface Fake { server: Server; path: string; requests: Buffer[]; close(): Promise<void> }

  /**
   * A fake agent: records each request; answers identities with `rsa`,
   * signs as a real agent does (algorithm chosen by the flags) or, with
   * `lie`, always as SHA-1 ssh-rsa; anything else gets SUCCESS.
   */
  async function fakeAgent(name: string, rsa: PrivateKey, opts: { lie?: boolean } = {}): Promise<Fake> {
    const p = join(tmp.dir, name);
    const requests: Buffer[] = [];
    const server = createServer((c) => {
      let buf = Buffer.alloc(0);
      c.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
          const req = buf.subarray(4, 4 + buf.readUInt32BE(0));
          buf = buf.subarray(4 + req.length);
          requests.push(Buffer.from(req));
          let reply: Uint8Array;
          if (req[0] === 11) {
            reply = new SSHWriter().byte(12).uint32(1).string(rsa.publicKeyBlob).string('fake').toBytes();
          } else if (req[0] === 13) {
            const r = new SSHReader(req, 'sign request', 1);
            r.string();
            const data = r.string();
            const flags = r.uint32();
            const alg = opts.lie ? 'ssh-rsa' : flags & 4 ? 'rsa-sha2-512' : flags & 2 ? 'rsa-sha2-256' : 'ssh-rsa';
            reply = new SSHWriter().byte(14).string(rsa.signSshData(data, alg)).toBytes();
          } else {
            reply = Uint8Array.of(6);
          }
          const frame = Buffer.alloc(4);
          frame.writeUInt32BE(reply.length);
          c.write(Buffer.concat([frame, reply]));
        }
      });
      c.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(p, resolve));
    return { server, path: p, requests, close: () => new Promise<void>((r) => server.close(() => r())) };
  }

  let rsa: PrivateKey;
  beforeAll(() => {
    rsa = PrivateKey.generate('rsa', 2048);
  });

  // Mutations: the lifetime or the confirm constraint was left out of SSH_AGENTC_ADD_ID_CONSTRAINED.
  it('addIdentity sends lifetime and confirm constraints after the comment; none means a plain ADD_IDENTITY', async () => {
    const fake = await fakeAgent('constraints.sock', rsa);
    const agent = new AgentClient(fake.path, { timeout: 5000 });
    try {
      const key = PrivateKey.generate('ed25519');
      await agent.addIdentity(key, 'plain');
      await agent.addIdentity(key, 'both', { lifetime: 600, confirm: true });
      await agent.addIdentity(key, 'confirm', { confirm: true });
      const [plain, both, confirm] = fake.requests;
      const tail = (req: Buffer, comment: string) => {
        const at = req.lastIndexOf(Buffer.concat([Buffer.from([0, 0, 0, comment.length]), Buffer.from(comment)]));
        expect(at).toBeGreaterThan(0);
        return [...req.subarray(at + 4 + comment.length)];
      };
      expect(plain![0]).toBe(17);
      expect(tail(plain!, 'plain')).toEqual([]);
      expect(both![0]).toBe(25);
      expect(tail(both!, 'both')).toEqual([1, 0, 0, 0x02, 0x58, 2]); // LIFETIME uint32 600, CONFIRM
      expect(confirm![0]).toBe(25);
      expect(tail(confirm!, 'confirm')).toEqual([2]);
    } finally {
      agent.close();
      await fake.close();
    }
  });

  // Mutations: the SHA-2 sign flags swapped, or the algorithm the agent signed with not checked.
  it('RSA sign requests carry the SHA-2 flag of the algorithm, and a SHA-1 answer to a SHA-2 request is refused', async () => {
    const honest = await fakeAgent('honest.sock', rsa);
    const liar = await fakeAgent('liar.sock', rsa, { lie: true });
    const a1 = new AgentClient(honest.path, { timeout: 5000 });
    const a2 = new AgentClient(liar.path, { timeout: 5000 });
    try {
      const data = new TextEncoder().encode('data');
      const [key] = await a1.listIdentities();
      for (const alg of ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']) {
        expect(rsa.verify(alg, data, await key!.sign(alg, data))).toBe(true);
      }
      const flags = honest.requests.filter((r) => r[0] === 13).map((r) => r.readUInt32BE(r.length - 4));
      expect(flags).toEqual([4, 2, 0]);
      const [lying] = await a2.listIdentities();
      await expect(lying!.sign('rsa-sha2-512', data)).rejects.toMatchObject({ code: 'ERR_SSH_AGENT', message: /signed with ssh-rsa instead of rsa-sha2-512/ });
    } finally {
      a1.close();
      a2.close();
      await honest.close();
      await liar.close();
    }
  });
});
