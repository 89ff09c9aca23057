/**
 * Backend selection: SSHWIRE_BACKEND puts a backend first wherever it can
 * serve, falls back (and says so) where it cannot. select.ts decides at load
 * time, so each case loads a fresh copy of the module.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';

async function loadWith(value: string | undefined) {
  vi.resetModules();
  if (value === undefined) vi.stubEnv('SSHWIRE_BACKEND', '');
  else vi.stubEnv('SSHWIRE_BACKEND', value);
  return import('../../ts/crypto/select.js');
}

afterEach(() => {
  vi.unstubAllEnvs();
  vi.resetModules();
});

describe('backend selection', () => {
  it('SSHWIRE_BACKEND=js: everything JS can serve uses js; 3des-cbc falls back with a reason', async () => {
    const sel = await loadWith('js');
    const info = sel.backendInfo();
    expect(info.forced).toBe('js');
    for (const name of ['chacha20-poly1305@openssh.com', 'aes128-gcm@openssh.com', 'aes256-ctr', 'hmac-sha1', 'sha256', 'x25519', 'nistp521', 'group14', 'ssh-ed25519', 'rsa-sha2-512']) {
      expect(info.primitives[name]!.backend, name).toBe('js');
    }
    expect(info.primitives['3des-cbc']!.backend).toBe('native');
    expect(info.primitives['3des-cbc']!.reason).toMatch(/cannot serve 3des-cbc, fell back/);
  });

  it('SSHWIRE_BACKEND=wasm: chacha20-poly1305 uses wasm when the module loaded; AES falls back to native with a reason', async () => {
    const sel = await loadWith('wasm');
    const info = sel.backendInfo();
    expect(info.forced).toBe('wasm');
    expect(info.primitives['chacha20-poly1305@openssh.com']!.backend).toBe(info.available.wasm.available ? 'wasm' : 'native');
    expect(info.primitives['aes128-gcm@openssh.com']!.backend).toBe('native');
    expect(info.primitives['aes128-gcm@openssh.com']!.reason).toMatch(/SSHWIRE_BACKEND=wasm cannot serve/);
  });

  it('SSHWIRE_BACKEND=native: native wherever node:crypto serves', async () => {
    const sel = await loadWith('native');
    const info = sel.backendInfo();
    for (const name of ['chacha20-poly1305@openssh.com', 'aes128-gcm@openssh.com', 'aes128-ctr', 'hmac-sha2-256', 'x25519', 'ssh-ed25519']) {
      expect(info.primitives[name]!.backend, name).toBe('native');
    }
  });

  it('default: the first serving implementation in the documented order; unknown values are ignored and reported', async () => {
    let sel = await loadWith(undefined);
    expect(sel.backendInfo().forced).toBeNull();
    for (const name of ['aes128-gcm@openssh.com', 'hmac-sha2-256', 'sha512']) {
      expect(sel.chosenImpl(name)).toBe(sel.servingImpls(name)[0]);
      expect(sel.backendInfo().primitives[name]!.reason).toMatch(/default order/);
    }
    sel = await loadWith('fast');
    expect(sel.backendInfo().forced).toBeNull();
    expect(sel.backendInfo().primitives['aes128-ctr']!.reason).toMatch(/ignored unknown SSHWIRE_BACKEND=fast/);
  });

  it('chacha20-poly1305 opens with OpenSSL alone and seals with OpenSSL ChaCha20 + wasm Poly1305 by default; forcing wasm seals with rust-core in place', async () => {
    let sel = await loadWith(undefined);
    const wasmUp = sel.backendInfo().available.wasm.available;
    expect(sel.chosenImpl('chacha20-poly1305@openssh.com')).toBe(sel.servingImpls('chacha20-poly1305@openssh.com')[0]);
    // node 20's OpenSSL has the IETF AEAD, whose Poly1305 checks OpenSSH's tags.
    expect(sel.chosenImpl('chacha20-poly1305@openssh.com')).toBe('native');
    expect(sel.servingImpls(sel.CHACHAPOLY_SEAL)).not.toContain('native');
    if (wasmUp) expect(sel.chosenImpl(sel.CHACHAPOLY_SEAL)).toBe('native+wasm');
    expect(sel.backendInfo().primitives[sel.CHACHAPOLY_SEAL]!.reason).toMatch(/default order/);
    const keys = { cipher: 'chacha20-poly1305@openssh.com', mac: 'none', encKey: new Uint8Array(64), iv: new Uint8Array(0), macKey: new Uint8Array(0) };
    let backends = await import('../../ts/crypto/backends.js');
    expect(backends.buildSealer(keys).constructor.name).toBe('ChaChaPolySealer');
    expect(backends.buildOpener(keys).constructor.name).toBe('ChaChaPolyOpener');
    if (!wasmUp) return;
    sel = await loadWith('wasm');
    expect(sel.backendInfo().primitives[sel.CHACHAPOLY_SEAL]!.backend).toBe('wasm');
    backends = await import('../../ts/crypto/backends.js');
    expect(backends.buildSealer(keys).constructor.name).toBe('WasmChaChaPolySealer');
  });

  it('a primitive no backend serves is absent (canServe* false)', async () => {
    const sel = await loadWith(undefined);
    expect(sel.chosenImpl('hmac-md5')).toBeUndefined();
    // UMAC has only the wasm implementation: unserved exactly when wasm cannot serve it.
    expect(sel.candidatesFor('umac-128@openssh.com').filter((c) => c.ok).map((c) => c.backend)).toEqual(sel.backendInfo().available.wasm.available ? ['wasm'] : []);
    expect(sel.candidatesFor('3des-cbc').find((c) => c.backend === 'js')!.ok).toBe(false);
  });
});
