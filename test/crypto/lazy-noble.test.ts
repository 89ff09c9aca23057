/**
 * The @noble modules back only the pure-JS fallbacks and are loaded on first
 * use (ts/crypto/js/noble.ts): an eager import anywhere would put ~3 MB back
 * on every process's heap, which is what tipped bulk transfers into V8's
 * mark-compact storm (docs/PERFORMANCE.md). This keeps it that way.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as noble from '../../ts/crypto/js/noble.js';

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('@noble is loaded lazily', () => {
  it('no library file imports an @noble module at run time (type-only imports are fine)', () => {
    const eager: string[] = [];
    for (const f of tsFiles('ts')) {
      const src = readFileSync(f, 'utf8');
      for (const m of src.matchAll(/^\s*(import|export)\s+(?!type\b)[^;]*?from\s+['"](@noble\/[^'"]+)['"]/gm)) eager.push(`${f}: ${m[2]}`);
      for (const m of src.matchAll(/\bimport\(\s*['"](@noble\/[^'"]+)['"]\s*\)/g)) eager.push(`${f}: import(${m[1]})`);
    }
    expect(eager).toEqual([]);
  });

  it('every loader resolves its module and returns the same object each time', () => {
    expect(typeof noble.nobleEd25519().ed25519.sign).toBe('function');
    expect(typeof noble.nobleNist().p256.sign).toBe('function');
    expect(typeof noble.nobleAes().gcm).toBe('function');
    expect(typeof noble.nobleChacha().chacha20orig).toBe('function');
    expect(typeof noble.noblePoly1305().poly1305).toBe('function');
    expect(typeof noble.nobleHmac().hmac).toBe('function');
    expect(typeof noble.nobleLegacy().sha1).toBe('function');
    expect(typeof noble.nobleSha2().sha256).toBe('function');
    expect(typeof noble.nobleMlKem().ml_kem768.keygen).toBe('function');
    expect(noble.nobleSha2()).toBe(noble.nobleSha2());
  });
});
