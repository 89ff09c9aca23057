/**
 * MIT Kerberos on-disk formats: credential caches (ccache.ts), keytabs
 * (keytab.ts) and krb5.conf (krb5Config.ts).
 *
 *  - unit tests on hand-built bytes: every field, round trips, and hostile
 *    input (truncation at every length, counts and lengths bigger than the
 *    input, random corruption) ending in typed errors only;
 *  - interop with MIT Kerberos 1.20 through a private KDC
 *    (test/helpers/kdc.ts): what kinit and kadmin write parses as klist
 *    shows it, and what we write klist, kvno and kinit accept.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigParseError, KeyFormatError, SSHException } from '../../ts/errors.js';
import { ccachePath, encodeCcache, parseCcache, readCcache, resolveCcacheFile, writeCcache, type CredentialCache } from '../../ts/auth/gssapi/ccache.js';
import { encodeKeytab, keytabPath, parseKeytab, readKeytab } from '../../ts/auth/gssapi/keytab.js';
import { kdcAddresses, loadKrb5Config, parseKrb5Config, realmForHost } from '../../ts/auth/gssapi/krb5Config.js';
import type { KeytabEntry, Krb5Credential } from '../../ts/auth/gssapi/krb5Types.js';
import { kdcAvailable, startKdc, type TestKdc } from '../helpers/kdc.js';
import { xorshift32 } from '../helpers/prng.js';

// ---------------------------------------------------------------------------
// Byte builders for hand-made files (big-endian, as the formats are).

const u8 = (v: number): Buffer => Buffer.of(v);
const u16 = (v: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
};
const u32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
};
const i32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v);
  return b;
};
/** ccache `data`: 32-bit length. */
const cdata = (s: string | Buffer): Buffer => {
  const b = typeof s === 'string' ? Buffer.from(s) : s;
  return Buffer.concat([u32(b.length), b]);
};
/** keytab `data`: 16-bit length. */
const kdata = (s: string | Buffer): Buffer => {
  const b = typeof s === 'string' ? Buffer.from(s) : s;
  return Buffer.concat([u16(b.length), b]);
};
const cprinc = (type: number, realm: string, ...comps: string[]): Buffer => Buffer.concat([u32(type), u32(comps.length), cdata(realm), ...comps.map((c) => cdata(c))]);

const KEY = Buffer.from('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff', 'hex');
const TICKET = Buffer.concat([Buffer.from([0x61, 0x03, 0x30, 0x01, 0x00])]);
const T0 = 1_700_000_000;

/** One credential in ccache layout; `v3` repeats the enctype. */
function ccred(opts: { server?: Buffer; v3?: boolean; addresses?: number; authdata?: number; ticket?: Buffer; times?: number[]; flags?: number; key?: Buffer; second?: Buffer }): Buffer {
  const n = opts.addresses ?? 0;
  const m = opts.authdata ?? 0;
  const times = opts.times ?? [T0, T0, T0 + 36000, T0 + 86400];
  return Buffer.concat([
    cprinc(1, 'EXAMPLE.COM', 'alice'),
    opts.server ?? cprinc(2, 'EXAMPLE.COM', 'krbtgt', 'EXAMPLE.COM'),
    u16(18),
    ...(opts.v3 ? [u16(18)] : []),
    cdata(opts.key ?? KEY),
    ...times.map(u32),
    u8(0),
    u32(opts.flags ?? 0x50e10000),
    u32(n),
    ...Array.from({ length: n }, () => Buffer.concat([u16(2), cdata(Buffer.of(127, 0, 0, 1))])),
    u32(m),
    ...Array.from({ length: m }, () => Buffer.concat([u16(1), cdata(Buffer.of(1, 2, 3))])),
    cdata(opts.ticket ?? TICKET),
    cdata(opts.second ?? Buffer.alloc(0)),
  ]);
}

const CONFIG_ENTRY = ccred({ server: cprinc(0, 'X-CACHECONF:', 'krb5_ccache_conf_data', 'fast_avail', 'krbtgt/EXAMPLE.COM@EXAMPLE.COM'), ticket: Buffer.from('yes'), times: [0, 0, 0, 0], flags: 0, key: Buffer.alloc(0) });

/** A v4 cache like kinit writes: time-offset header tag, a config entry, then a TGT with addresses and authdata. */
function sampleV4(): Buffer {
  return Buffer.concat([
    Buffer.of(5, 4),
    u16(12),
    u16(1),
    u16(8),
    u32(0),
    u32(0),
    cprinc(1, 'EXAMPLE.COM', 'alice'),
    CONFIG_ENTRY,
    ccred({ addresses: 2, authdata: 1, second: Buffer.from('second-ticket') }),
  ]);
}

/** Expects `fn` to throw a KeyFormatError whose message contains each of `parts`. */
function expectFormatError(fn: () => unknown, ...parts: string[]): KeyFormatError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(KeyFormatError);
  const e = err as KeyFormatError;
  expect(e.code).toBe('ERR_SSH_KEY_FORMAT');
  for (const p of parts) expect(e.message).toContain(p);
  // Never key material in messages.
  expect(e.message).not.toContain(KEY.toString('hex').slice(0, 16));
  return e;
}

/** Parses every prefix and byte-flipped variant of `good`: only the given outcomes, never a stray exception. */
function hostileVariants(good: Buffer, parse: (b: Buffer) => unknown, seed: number): { parsed: number; rejected: number } {
  let parsed = 0;
  let rejected = 0;
  const attempt = (b: Buffer): void => {
    try {
      parse(b);
      parsed++;
    } catch (e) {
      if (!(e instanceof KeyFormatError)) throw e;
      rejected++;
    }
  };
  for (let n = 0; n < good.length; n++) attempt(good.subarray(0, n));
  const rand = xorshift32(seed);
  for (let i = 0; i < 3000; i++) {
    const b = Buffer.from(good);
    const flips = 1 + (rand() % 4);
    for (let j = 0; j < flips; j++) b[rand() % b.length] = rand() & 0xff;
    attempt(b);
  }
  return { parsed, rejected };
}

// ---------------------------------------------------------------------------

describe('credential cache (ccache.ts)', () => {
  it('parses a version 4 cache: header tags skipped, config entries dropped, every field kept', () => {
    const cache = parseCcache(sampleV4(), 'sample');
    expect(cache.defaultPrincipal).toEqual({ realm: 'EXAMPLE.COM', name: { nameType: 1, nameString: ['alice'] } });
    expect(cache.credentials).toHaveLength(1);
    const c = cache.credentials[0]!;
    expect(c.client).toEqual({ realm: 'EXAMPLE.COM', name: { nameType: 1, nameString: ['alice'] } });
    expect(c.server).toEqual({ realm: 'EXAMPLE.COM', name: { nameType: 2, nameString: ['krbtgt', 'EXAMPLE.COM'] } });
    expect(c.key).toEqual({ keytype: 18, keyvalue: KEY });
    expect(c.authtime).toEqual(new Date(T0 * 1000));
    expect(c.starttime).toEqual(new Date(T0 * 1000));
    expect(c.endtime).toEqual(new Date((T0 + 36000) * 1000));
    expect(c.renewTill).toEqual(new Date((T0 + 86400) * 1000));
    expect(c.flags).toBe(0x50e10000);
    expect(c.ticket).toEqual(TICKET);
  });

  it('parses version 3 (enctype written twice, no header)', () => {
    const buf = Buffer.concat([Buffer.of(5, 3), cprinc(1, 'EXAMPLE.COM', 'alice'), ccred({ v3: true, times: [T0, 0, T0 + 60, 0] })]);
    const [c] = parseCcache(buf).credentials;
    expect(c!.key).toEqual({ keytype: 18, keyvalue: KEY });
    expect(c!.starttime).toBeUndefined();
    expect(c!.renewTill).toBeUndefined();
    expect(c!.endtime).toEqual(new Date((T0 + 60) * 1000));
  });

  it('accepts a cache with no credentials and treats times as unsigned (past 2038)', () => {
    expect(parseCcache(Buffer.concat([Buffer.of(5, 4), u16(0), cprinc(1, 'R', 'a')])).credentials).toEqual([]);
    const late = 0xf0000000;
    const buf = Buffer.concat([Buffer.of(5, 4), u16(0), cprinc(1, 'EXAMPLE.COM', 'alice'), ccred({ times: [late, late, late, late] })]);
    expect(parseCcache(buf).credentials[0]!.endtime.getUTCFullYear()).toBe(2097);
  });

  it('round-trips through encodeCcache (version 4, empty header)', () => {
    const cache = parseCcache(sampleV4());
    const out = encodeCcache(cache);
    expect([...out.subarray(0, 4)]).toEqual([5, 4, 0, 0]);
    expect(parseCcache(out)).toEqual(cache);
    const noOptional: CredentialCache = {
      defaultPrincipal: cache.defaultPrincipal,
      credentials: [{ ...cache.credentials[0]!, starttime: undefined, renewTill: undefined } as unknown as Krb5Credential],
    };
    const again = parseCcache(encodeCcache(noOptional)).credentials[0]!;
    expect(again.starttime).toBeUndefined();
    expect(again.renewTill).toBeUndefined();
  });

  it('rejects other files and versions by name', () => {
    expectFormatError(() => parseCcache(Buffer.alloc(0), '/tmp/cc'), '/tmp/cc', 'truncated');
    expectFormatError(() => parseCcache(Buffer.of(4, 4, 0, 0), '/tmp/cc'), 'not an MIT credential cache');
    expectFormatError(() => parseCcache(Buffer.of(5, 2, 0, 0), '/tmp/cc'), 'unsupported format version 0x0502');
    expectFormatError(() => parseCcache(Buffer.of(5, 4, 0xff, 0xff, 0, 0)), 'header length 65535');
    expectFormatError(() => parseCcache(Buffer.concat([Buffer.of(5, 4), u16(6), u16(1), u16(8), u16(0), cprinc(1, 'R', 'a')])), 'header field length 8');
  });

  it('bounds every count and length by the remaining input', () => {
    const head = Buffer.concat([Buffer.of(5, 4), u16(0)]);
    expectFormatError(() => parseCcache(Buffer.concat([head, u32(1), u32(0xffffffff), cdata('R')])), 'component count 4294967295');
    expectFormatError(() => parseCcache(Buffer.concat([head, u32(1), u32(1), u32(0xfffffff0)])), 'realm length 4294967280');
    const good = ccred({});
    const princ = cprinc(1, 'EXAMPLE.COM', 'alice');
    // Replace the address count (after principals, keyblock, 4 times, is_skey, flags).
    const addrAt = princ.length + cprinc(2, 'EXAMPLE.COM', 'krbtgt', 'EXAMPLE.COM').length + 2 + 4 + KEY.length + 16 + 1 + 4;
    for (const [at, what] of [
      [addrAt, 'address count'],
      [addrAt + 4, 'authdata count'],
      [addrAt + 8, 'ticket length'],
    ] as const) {
      const bad = Buffer.from(good);
      bad.writeUInt32BE(0x20000000, at);
      expectFormatError(() => parseCcache(Buffer.concat([head, princ, bad]), 'hostile'), 'hostile', what);
    }
  });

  it('ends every truncation or corruption in a KeyFormatError', () => {
    const good = sampleV4();
    const { parsed, rejected } = hostileVariants(good, (b) => parseCcache(b), 0xcc);
    expect(rejected).toBeGreaterThan(good.length - 5);
    expect(parsed).toBeGreaterThan(0);
  });

  it('encodeCcache refuses times it cannot store', () => {
    const cache = parseCcache(sampleV4());
    cache.credentials[0]!.endtime = new Date(Date.UTC(2200, 0, 1));
    expect(() => encodeCcache(cache)).toThrow(expect.objectContaining({ code: 'ERR_SSH_BAD_ARGUMENT' }));
  });

  it('ccachePath follows KRB5CCNAME as MIT does', () => {
    expect(ccachePath({}, 1234)).toBe('/tmp/krb5cc_1234');
    expect(ccachePath({ KRB5CCNAME: '' }, 1234)).toBe('/tmp/krb5cc_1234');
    expect(ccachePath({ KRB5CCNAME: 'FILE:/tmp/x' }, 1)).toBe('/tmp/x');
    expect(ccachePath({ KRB5CCNAME: '/tmp/y' }, 1)).toBe('/tmp/y');
    expect(ccachePath({ KRB5CCNAME: 'relative' }, 1)).toBe('relative');
    for (const type of ['KEYRING:persistent:1000', 'KCM:1000', 'MEMORY:x', 'DIR:/run/user/1000/krb5cc', 'API:x']) {
      let err: unknown;
      try {
        ccachePath({ KRB5CCNAME: type });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SSHException);
      expect((err as SSHException).code).toBe('ERR_SSH_UNSUPPORTED');
      expect((err as Error).message).toContain(type.slice(0, type.indexOf(':') + 1));
    }
  });

  describe('files', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'sshwire-krb5f-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('readCcache: a missing cache says there are no credentials (run kinit)', async () => {
      const err = await readCcache(join(dir, 'nope')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SSHException);
      expect((err as SSHException).code).toBe('ERR_KRB5_NO_CREDENTIALS');
      expect((err as Error).message).toMatch(/no Kerberos credentials.*kinit/);
    });

    it('writeCcache: mode 0600, via a temporary name, replaces an existing file; readCcache reads it back', async () => {
      const path = join(dir, 'cc');
      writeFileSync(path, 'old', { mode: 0o644 });
      const cache = parseCcache(sampleV4());
      await writeCcache(path, cache);
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(await readCcache(path)).toEqual(cache);
      expect(readdirSync(dir).filter((n) => n.startsWith('cc'))).toEqual(['cc']);
      const err = await writeCcache(join(dir, 'no-such-dir', 'cc'), cache).catch((e: unknown) => e);
      expect((err as SSHException).code).toBe('ERR_KRB5_CCACHE');
    });

    it('readCcache: a malformed file is a KeyFormatError naming it', async () => {
      const path = join(dir, 'bad');
      writeFileSync(path, Buffer.of(5, 4, 0, 0, 0));
      const err = await readCcache(path).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KeyFormatError);
      expect((err as Error).message).toContain(path);
    });
  });
});

// ---------------------------------------------------------------------------

/** One keytab record (without its size) in version 2 layout. */
function krec(opts: { comps?: string[]; realm?: string; nameType?: number; kvno8?: number; kvno32?: number | null; keytype?: number; key?: Buffer; ts?: number; v1?: boolean }): Buffer {
  const comps = opts.comps ?? ['host', 'server.example.com'];
  return Buffer.concat([
    u16(comps.length + (opts.v1 ? 1 : 0)),
    kdata(opts.realm ?? 'EXAMPLE.COM'),
    ...comps.map((c) => kdata(c)),
    ...(opts.v1 ? [] : [u32(opts.nameType ?? 3)]),
    u32(opts.ts ?? T0),
    u8(opts.kvno8 ?? 2),
    u16(opts.keytype ?? 18),
    kdata(opts.key ?? KEY),
    ...(opts.kvno32 === null || opts.kvno32 === undefined ? [] : [u32(opts.kvno32)]),
  ]);
}
const sized = (rec: Buffer, pad = 0): Buffer => Buffer.concat([i32(rec.length + pad), rec, Buffer.alloc(pad)]);

describe('keytab (keytab.ts)', () => {
  it('parses version 2: holes skipped, 32-bit kvno when present and non-zero, padding after an entry, 0 ends the list', () => {
    const buf = Buffer.concat([
      Buffer.of(5, 2),
      sized(krec({ kvno8: 2, kvno32: 2 })),
      i32(-20),
      Buffer.alloc(20),
      sized(krec({ kvno8: 300 & 0xff, kvno32: 300, keytype: 17, key: KEY.subarray(0, 16) })),
      sized(krec({ kvno8: 7, kvno32: 0, comps: ['alice'], nameType: 1 })),
      sized(krec({ kvno8: 9, kvno32: null }), 12), // a record reusing a larger hole: zero padding after
      i32(0),
      Buffer.from('ignored after the end marker'),
    ]);
    const entries = parseKeytab(buf, 'kt');
    expect(entries.map((e) => [e.principal.name.nameString.join('/'), e.kvno, e.key.keytype, e.key.keyvalue.length])).toEqual([
      ['host/server.example.com', 2, 18, 32],
      ['host/server.example.com', 300, 17, 16],
      ['alice', 7, 18, 32],
      ['host/server.example.com', 9, 18, 32],
    ]);
    // A padded record: 12 zero bytes after the key, read as a zero 32-bit kvno (ignored).
    expect(entries[0]).toEqual({
      principal: { realm: 'EXAMPLE.COM', name: { nameType: 3, nameString: ['host', 'server.example.com'] } },
      kvno: 2,
      key: { keytype: 18, keyvalue: KEY },
      timestamp: new Date(T0 * 1000),
    });
    expect(entries[2]!.principal.name.nameType).toBe(1);
  });

  it('parses version 1 (count includes the realm, no name type)', () => {
    const [e] = parseKeytab(Buffer.concat([Buffer.of(5, 1), sized(krec({ v1: true, comps: ['alice'] }))]));
    expect(e!.principal).toEqual({ realm: 'EXAMPLE.COM', name: { nameType: 0, nameString: ['alice'] } });
    expect(e!.kvno).toBe(2);
  });

  it('round-trips through encodeKeytab, which writes the 32-bit kvno as MIT does', () => {
    const entries: KeytabEntry[] = [
      { principal: { realm: 'EXAMPLE.COM', name: { nameType: 3, nameString: ['host', 'a.example.com'] } }, kvno: 5, key: { keytype: 18, keyvalue: KEY }, timestamp: new Date(T0 * 1000) },
      { principal: { realm: 'EXAMPLE.COM', name: { nameType: 1, nameString: ['svc'] } }, kvno: 70000, key: { keytype: 17, keyvalue: KEY.subarray(0, 16) }, timestamp: new Date(T0 * 1000) },
    ];
    const out = encodeKeytab(entries);
    expect(out.subarray(0, 2)).toEqual(Buffer.of(5, 2));
    expect(parseKeytab(out)).toEqual(entries);
    const firstRecord = sized(krec({ comps: ['host', 'a.example.com'], kvno8: 5, kvno32: 5 }));
    expect(out.subarray(2, 2 + firstRecord.length)).toEqual(firstRecord);
    expect(encodeKeytab([])).toEqual(Buffer.of(5, 2));
    expect(() => encodeKeytab([{ ...entries[0]!, key: { keytype: 18, keyvalue: Buffer.alloc(70000) } }])).toThrow(expect.objectContaining({ code: 'ERR_SSH_BAD_ARGUMENT' }));
  });

  it('rejects other files and hostile sizes with typed errors naming the file', () => {
    expectFormatError(() => parseKeytab(Buffer.alloc(0), '/etc/krb5.keytab'), '/etc/krb5.keytab', 'truncated version');
    expectFormatError(() => parseKeytab(Buffer.of(6, 2)), 'not an MIT keytab');
    expectFormatError(() => parseKeytab(Buffer.of(5, 3)), 'unsupported format version 0x0503');
    expectFormatError(() => parseKeytab(Buffer.concat([Buffer.of(5, 2), i32(0x7fffffff), Buffer.alloc(10)])), 'record of 2147483647 bytes');
    expectFormatError(() => parseKeytab(Buffer.concat([Buffer.of(5, 2), i32(-100), Buffer.alloc(10)])), 'hole of 100 bytes');
    // Component count and lengths bounded by the record, not the file.
    const rec = krec({});
    const many = Buffer.from(rec);
    many.writeUInt16BE(0xffff, 0);
    expectFormatError(() => parseKeytab(Buffer.concat([Buffer.of(5, 2), sized(many), Buffer.alloc(200000)])), 'component count 65535');
    const longKey = Buffer.from(rec);
    longKey.writeUInt16BE(0xffff, rec.length - KEY.length - 2);
    expectFormatError(() => parseKeytab(Buffer.concat([Buffer.of(5, 2), sized(longKey), Buffer.alloc(70000)])), 'key length 65535');
    expectFormatError(() => parseKeytab(Buffer.concat([Buffer.of(5, 1), sized(Buffer.concat([u16(0), kdata('R'), Buffer.alloc(20)]))])), 'component count 0');
  });

  it('ends every truncation or corruption in a KeyFormatError', () => {
    const good = Buffer.concat([Buffer.of(5, 2), sized(krec({ kvno32: 2 })), i32(-8), Buffer.alloc(8), sized(krec({ comps: ['alice'] }))]);
    const { rejected } = hostileVariants(good, (b) => parseKeytab(b), 0x4b);
    expect(rejected).toBeGreaterThan(good.length / 2);
  });

  it('keytabPath follows KRB5_KTNAME', () => {
    expect(keytabPath({})).toBe('/etc/krb5.keytab');
    expect(keytabPath({ KRB5_KTNAME: 'FILE:/k' })).toBe('/k');
    expect(keytabPath({ KRB5_KTNAME: 'WRFILE:/k2' })).toBe('/k2');
    expect(keytabPath({ KRB5_KTNAME: '/k3' })).toBe('/k3');
    expect(() => keytabPath({ KRB5_KTNAME: 'MEMORY:x' })).toThrow(expect.objectContaining({ code: 'ERR_SSH_UNSUPPORTED' }));
  });

  it('readKeytab: a missing file is a typed error', async () => {
    const err = await readKeytab('/nonexistent/krb5.keytab').catch((e: unknown) => e);
    expect((err as SSHException).code).toBe('ERR_KRB5_NO_KEYTAB');
    expect((err as Error).message).toContain('/nonexistent/krb5.keytab');
  });
});

// ---------------------------------------------------------------------------

const SAMPLE_CONF = `
# a comment
  ; another comment
[libdefaults]
    default_realm = EXAMPLE.COM
    clockskew = 5m
    forwardable = yes
    dns_canonicalize_hostname = false
    default_realm = IGNORED.COM

[realms]
    EXAMPLE.COM = {
        kdc = kdc1.example.com
        kdc = kdc2.example.com:750
        kdc = [2001:db8::1]:8888
        kdc = tcp/kdc3.example.com
        admin_server = kdc1.example.com
        auth_to_local = {
            nested = ignored
        }
    }*
    OTHER.ORG = {
        kdc = "quoted.other.org"
        kdc = 2001:db8::2
        kdc = https://proxy.other.org/KdcProxy
    }

[domain_realm]*
    .example.com = EXAMPLE.COM
    example.com = EXAMPLE.COM
    .corp.example.com = CORP.EXAMPLE.COM
    Special.Host.Example.Com = OTHER.ORG
    final.example.net = FINAL.NET*

[appdefaults]
    pam = {
        debug = false
    }
`;

describe('krb5.conf (krb5Config.ts)', () => {
  it('parses libdefaults, realms and domain_realm (comments, nesting, quoting, final markers)', () => {
    const c = parseKrb5Config(SAMPLE_CONF);
    expect(c.defaultRealm).toBe('EXAMPLE.COM');
    expect(c.clockskew).toBe(300);
    expect(c.forwardable).toBe(true);
    expect(c.dnsCanonicalizeHostname).toBe(false);
    expect(c.realms.get('EXAMPLE.COM')!.kdc).toEqual(['kdc1.example.com', 'kdc2.example.com:750', '[2001:db8::1]:8888', 'tcp/kdc3.example.com']);
    expect(c.realms.get('OTHER.ORG')!.kdc).toEqual(['quoted.other.org', '2001:db8::2', 'https://proxy.other.org/KdcProxy']);
    expect(c.domainRealm).toContainEqual(['special.host.example.com', 'OTHER.ORG']);
    expect(c.domainRealm).toContainEqual(['final.example.net', 'FINAL.NET']);
  });

  it('has MIT defaults when nothing is set', () => {
    const c = parseKrb5Config('');
    expect(c).toEqual({ realms: new Map(), domainRealm: [], clockskew: 300, dnsCanonicalizeHostname: true, forwardable: false });
    for (const [v, n] of [['120', 120], ['1h', 3600], ['1d 2h 3m 4s', 93784], ['0:10', 600], ['0:01:30', 90]] as const) {
      expect(parseKrb5Config(`[libdefaults]\nclockskew = ${v}\n`).clockskew).toBe(n);
    }
    expect(parseKrb5Config('[libdefaults]\nclockskew = soon\n').clockskew).toBe(300);
    expect(parseKrb5Config('[libdefaults]\ndns_canonicalize_hostname = fallback\n').dnsCanonicalizeHostname).toBe(false);
    expect(parseKrb5Config('[libdefaults]\nforwardable = true\n').forwardable).toBe(true);
  });

  it('merges into an earlier config: first value wins, lists accumulate', () => {
    const first = parseKrb5Config('[libdefaults]\ndefault_realm = A.ORG\nclockskew = 300\n[realms]\nA.ORG = {\nkdc = a1\n}\n');
    const merged = parseKrb5Config('[libdefaults]\ndefault_realm = B.ORG\nclockskew = 60\nforwardable = true\n[realms]\nA.ORG = {\nkdc = a2\n}\n', first);
    expect(merged.defaultRealm).toBe('A.ORG');
    expect(merged.clockskew).toBe(300);
    expect(merged.forwardable).toBe(true);
    expect(merged.realms.get('A.ORG')!.kdc).toEqual(['a1', 'a2']);
  });

  it('realmForHost: exact host, then the longest .domain suffix, then the default realm', () => {
    const c = parseKrb5Config(SAMPLE_CONF);
    expect(realmForHost(c, 'example.com')).toBe('EXAMPLE.COM');
    expect(realmForHost(c, 'www.example.com')).toBe('EXAMPLE.COM');
    expect(realmForHost(c, 'db.corp.example.com')).toBe('CORP.EXAMPLE.COM');
    expect(realmForHost(c, 'SPECIAL.host.example.com.')).toBe('OTHER.ORG');
    expect(realmForHost(c, 'elsewhere.net')).toBe('EXAMPLE.COM');
    expect(realmForHost(parseKrb5Config(''), 'elsewhere.net')).toBeUndefined();
  });

  it('kdcAddresses: host, host:port, [v6]:port, bare v6, transport prefixes; port 88 by default', () => {
    const c = parseKrb5Config(SAMPLE_CONF);
    expect(kdcAddresses(c, 'EXAMPLE.COM')).toEqual([
      { host: 'kdc1.example.com', port: 88 },
      { host: 'kdc2.example.com', port: 750 },
      { host: '2001:db8::1', port: 8888 },
      { host: 'kdc3.example.com', port: 88 },
    ]);
    expect(kdcAddresses(c, 'OTHER.ORG')).toEqual([
      { host: 'quoted.other.org', port: 88 },
      { host: '2001:db8::2', port: 88 },
    ]);
    expect(kdcAddresses(c, 'NOWHERE')).toEqual([]);
    expect(() => kdcAddresses(parseKrb5Config('[realms]\nR = {\nkdc = h:99999\n}\n'), 'R')).toThrow(ConfigParseError);
  });

  it('rejects syntax errors with the line number', () => {
    for (const [text, msg] of [
      ['key = value\n', 'line 1: relation before any [section]'],
      ['[libdefaults]\n}\n', 'line 2: unmatched "}"'],
      ['[realms]\nR = {\nkdc = x\n', 'missing "}"'],
      ['[libdefaults\n', 'line 1: section header without "]"'],
      ['[libdefaults]\njust words\n', 'line 2: expected "tag = value"'],
    ] as const) {
      expect(() => parseKrb5Config(text)).toThrow(ConfigParseError);
      expect(() => parseKrb5Config(text)).toThrow(msg);
    }
  });

  describe('loadKrb5Config', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'sshwire-krb5c-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('reads KRB5_CONFIG files in order (first value wins), skips missing ones, follows include and includedir', async () => {
      const d = join(dir, 'conf.d');
      mkdirSync(d);
      writeFileSync(join(d, '10-realm'), '[realms]\nB.ORG = {\nkdc = b.org:88\n}\n');
      writeFileSync(join(d, 'skipped.bak'), 'this is not parsed at all');
      writeFileSync(join(d, 'extra.conf'), '[domain_realm]\n.b.org = B.ORG\n');
      writeFileSync(join(dir, 'inc.conf'), '[libdefaults]\nforwardable = true\n');
      writeFileSync(join(dir, 'a.conf'), `include ${join(dir, 'inc.conf')}\n[libdefaults]\ndefault_realm = A.ORG\nforwardable = false\nincludedir ${d}\n[libdefaults]\nclockskew = 10\n`);
      writeFileSync(join(dir, 'b.conf'), '[libdefaults]\ndefault_realm = B.ORG\nclockskew = 20\n');
      const c = await loadKrb5Config({ KRB5_CONFIG: `${join(dir, 'a.conf')}:${join(dir, 'missing.conf')}:${join(dir, 'b.conf')}` });
      expect(c.defaultRealm).toBe('A.ORG');
      expect(c.forwardable).toBe(true); // the include came first
      expect(c.clockskew).toBe(10);
      expect(kdcAddresses(c, 'B.ORG')).toEqual([{ host: 'b.org', port: 88 }]);
      expect(realmForHost(c, 'x.b.org')).toBe('B.ORG');
    });

    it('gives defaults when no file exists; include loops and missing includes are errors', async () => {
      expect((await loadKrb5Config({ KRB5_CONFIG: join(dir, 'none') })).clockskew).toBe(300);
      writeFileSync(join(dir, 'loop.conf'), `include ${join(dir, 'loop.conf')}\n`);
      await expect(loadKrb5Config({ KRB5_CONFIG: join(dir, 'loop.conf') })).rejects.toThrow(/nested more than/);
      writeFileSync(join(dir, 'badinc.conf'), `include ${join(dir, 'absent.conf')}\n`);
      await expect(loadKrb5Config({ KRB5_CONFIG: join(dir, 'badinc.conf') })).rejects.toThrow(ConfigParseError);
    });
  });
});

// ---------------------------------------------------------------------------

/** MIT's names for the enctypes a 1.20 KDC can issue. */
const ENCTYPE_NAMES: Record<number, string> = {
  17: 'aes128-cts-hmac-sha1-96',
  18: 'aes256-cts-hmac-sha1-96',
  19: 'aes128-cts-hmac-sha256-128',
  20: 'aes256-cts-hmac-sha384-192',
  23: 'arcfour-hmac',
  25: 'camellia128-cts-cmac',
  26: 'camellia256-cts-cmac',
};

/** `klist -k -e -K` lines as [kvno, principal, enctype name, key hex]. */
function klistKeytab(kdc: TestKdc, path: string): [number, string, string, string][] {
  const out = execFileSync('klist', ['-k', '-e', '-K', path], { env: { ...process.env, ...kdc.env }, encoding: 'utf8' });
  const rows: [number, string, string, string][] = [];
  for (const line of out.split('\n')) {
    const m = /^\s*(\d+)\s+(\S+)\s+\(([^)]+)\)\s+\(0x([0-9a-f]+)\)\s*$/.exec(line);
    if (m) rows.push([Number(m[1]), m[2]!, m[3]!, m[4]!]);
  }
  return rows;
}

/** `klist` output without the line naming the cache or keytab file. */
function klist(kdc: TestKdc, args: string[]): string {
  const out = execFileSync('klist', args, { env: { ...process.env, ...kdc.env }, encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => !/^(Ticket cache|Keytab name):/.test(l))
    .join('\n');
}

describe.skipIf(!kdcAvailable())('interop with MIT Kerberos (private KDC)', () => {
  let kdc: TestKdc;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const USER = 'alice';
  const PASSWORD = 'alice-password-1';

  beforeAll(async () => {
    kdc = await startKdc();
    dir = mkdtempSync(join(tmpdir(), 'sshwire-krb5i-'));
    env = { ...process.env, ...kdc.env };
    kdc.addPrincipal(USER, PASSWORD);
    kdc.addPrincipal('host/localhost');
    kdc.kinit(USER, PASSWORD, join(dir, 'cc'), { forwardable: true });
    kdc.exportKeytab(['host/localhost'], join(dir, 'kt'));
  });

  afterAll(async () => {
    await kdc?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('parses the cache kinit wrote: default principal, krbtgt credential, its key and ticket', async () => {
    const cache = await readCcache(join(dir, 'cc'));
    const realm = kdc.realm;
    expect(cache.defaultPrincipal).toEqual({ realm, name: { nameType: 1, nameString: [USER] } });
    expect(cache.credentials).toHaveLength(1); // fast_avail etc. config entries skipped
    const tgt = cache.credentials[0]!;
    expect(tgt.client).toEqual(cache.defaultPrincipal);
    expect(tgt.server.realm).toBe(realm);
    expect(tgt.server.name.nameString).toEqual(['krbtgt', realm]);
    // MIT 1.20's default supported_enctypes: aes256-cts-hmac-sha1-96 first.
    expect(tgt.key.keytype).toBe(18);
    expect(tgt.key.keyvalue).toHaveLength(32);
    expect(tgt.ticket[0]).toBe(0x61); // [APPLICATION 1] Ticket
    expect(tgt.flags & 0x40000000).toBe(0x40000000); // forwardable (kinit -f)
    expect(tgt.endtime.getTime()).toBeGreaterThan(Date.now());
    expect(tgt.authtime.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
    const shown = klist(kdc, ['-e', '-c', `FILE:${join(dir, 'cc')}`]);
    expect(shown).toContain(`Default principal: ${USER}@${realm}`);
    expect(shown).toContain('Etype (skey, tkt): aes256-cts-hmac-sha1-96, aes256-cts-hmac-sha1-96');
  });

  it('parses the keytab kadmin wrote as klist -k -e -K shows it', async () => {
    const entries = await readKeytab(join(dir, 'kt'));
    const shown = klistKeytab(kdc, join(dir, 'kt'));
    expect(shown.length).toBeGreaterThan(0);
    expect(entries.map((e) => [e.kvno, `${e.principal.name.nameString.join('/')}@${e.principal.realm}`, ENCTYPE_NAMES[e.key.keytype] ?? String(e.key.keytype), e.key.keyvalue.toString('hex')])).toEqual(shown);
    // MIT 1.20 default: an aes256-sha1 and an aes128-sha1 key, kvno 1.
    expect(entries.map((e) => e.key.keytype)).toEqual([18, 17]);
    expect(entries.every((e) => e.kvno === 1 && e.principal.name.nameString.join('/') === 'host/localhost')).toBe(true);
  });

  it('writes a keytab klist reads identically and kinit -k can use', async () => {
    const entries = await readKeytab(join(dir, 'kt'));
    const ours = join(dir, 'kt-ours');
    writeFileSync(ours, encodeKeytab(entries));
    expect(klist(kdc, ['-k', '-K', '-e', '-t', ours])).toBe(klist(kdc, ['-k', '-K', '-e', '-t', join(dir, 'kt')]));
    // The keys are right: MIT authenticates as the service with them.
    execFileSync('kinit', ['-k', '-t', ours, '-c', `FILE:${join(dir, 'cc-svc')}`, `host/localhost@${kdc.realm}`], { env, stdio: 'pipe' });
    expect(parseCcache(readFileSync(join(dir, 'cc-svc'))).defaultPrincipal.name.nameString).toEqual(['host', 'localhost']);
  });

  it('writes a ccache klist reads identically and kvno can use for a service ticket', async () => {
    const cache = await readCcache(join(dir, 'cc'));
    const ours = join(dir, 'cc-ours');
    await writeCcache(ours, cache);
    expect(klist(kdc, ['-e', '-f', '-c', `FILE:${ours}`])).toBe(klist(kdc, ['-e', '-f', '-c', `FILE:${join(dir, 'cc')}`]));
    // The TGT and its session key survived: MIT gets a service ticket with them and appends it to our file.
    execFileSync('kvno', ['-c', `FILE:${ours}`, `host/localhost@${kdc.realm}`], { env, stdio: 'pipe' });
    const after = await readCcache(ours);
    expect(after.credentials.map((c) => c.server.name.nameString.join('/'))).toEqual([`krbtgt/${kdc.realm}`, 'host/localhost']);
    expect(after.credentials[1]!.ticket[0]).toBe(0x61);
  });

  it("parses the harness's krb5.conf", async () => {
    const c = await loadKrb5Config({ KRB5_CONFIG: kdc.krb5ConfPath });
    expect(c.defaultRealm).toBe(kdc.realm);
    expect(c.dnsCanonicalizeHostname).toBe(false);
    expect(kdcAddresses(c, kdc.realm)).toEqual([{ host: '127.0.0.1', port: kdc.port }]);
    expect(realmForHost(c, 'localhost')).toBe(kdc.realm);
    expect(realmForHost(c, 'anything.else')).toBe(kdc.realm);
  });
});

describe('DIR: credential cache collections', () => {
  it('the primary file names the cache; "tkt" without one; DIR:: names one directly; a primary pointing elsewhere is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sshwire-dircc-'));
    try {
      expect(await resolveCcacheFile({ KRB5CCNAME: `DIR:${dir}` })).toBe(join(dir, 'tkt'));
      writeFileSync(join(dir, 'primary'), 'tktAbC12\n');
      expect(await resolveCcacheFile({ KRB5CCNAME: `DIR:${dir}` })).toBe(join(dir, 'tktAbC12'));
      expect(await resolveCcacheFile({ KRB5CCNAME: `DIR::${dir}/tktOther` })).toBe(`${dir}/tktOther`);
      expect(await resolveCcacheFile({ KRB5CCNAME: `FILE:${dir}/x` })).toBe(`${dir}/x`);
      writeFileSync(join(dir, 'primary'), '../../etc/passwd\n');
      await expect(resolveCcacheFile({ KRB5CCNAME: `DIR:${dir}` })).rejects.toMatchObject({ code: 'ERR_KRB5_CCACHE' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
