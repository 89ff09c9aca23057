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

  it('chacha20-poly1305 seals and opens with OpenSSL ChaCha20 + wasm Poly1305 by default, opens with OpenSSL alone next; forcing wasm seals with rust-core in place', async () => {
    let sel = await loadWith(undefined);
    const wasmUp = sel.backendInfo().available.wasm.available;
    expect(sel.chosenImpl('chacha20-poly1305@openssh.com')).toBe(sel.servingImpls('chacha20-poly1305@openssh.com')[0]);
    expect(sel.chosenImpl(sel.CHACHAPOLY_SEAL)).toBe(sel.chosenImpl('chacha20-poly1305@openssh.com'));
    if (wasmUp) expect(sel.chosenImpl(sel.CHACHAPOLY_SEAL)).toBe('native+wasm');
    // node 20's OpenSSL has the IETF AEAD, whose Poly1305 checks OpenSSH's tags: next in line for opening, never for sealing.
    expect(sel.servingImpls('chacha20-poly1305@openssh.com')).toContain('native');
    expect(sel.servingImpls('chacha20-poly1305@openssh.com').indexOf('native')).toBeLessThan(sel.servingImpls('chacha20-poly1305@openssh.com').indexOf('native+js'));
    expect(sel.servingImpls(sel.CHACHAPOLY_SEAL)).not.toContain('native');
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

  it('without the wasm module, chacha20-poly1305 opens with OpenSSL alone and seals with @noble\'s Poly1305', async () => {
    vi.stubEnv('SSHWIRE_WASM_PATH', '/nonexistent/sshwire_core.wasm');
    const sel = await loadWith(undefined);
    expect(sel.backendInfo().available.wasm.available).toBe(false);
    expect(sel.chosenImpl('chacha20-poly1305@openssh.com')).toBe('native');
    expect(sel.chosenImpl(sel.CHACHAPOLY_SEAL)).toBe('native+js');
    const keys = { cipher: 'chacha20-poly1305@openssh.com', mac: 'none', encKey: new Uint8Array(64).fill(1), iv: new Uint8Array(0), macKey: new Uint8Array(0) };
    const backends = await import('../../ts/crypto/backends.js');
    const sealer = backends.buildSealer(keys);
    const buf = new Uint8Array(4 + 16 + 16);
    new DataView(buf.buffer).setUint32(0, 16);
    buf[4] = 4;
    sealer.sealPackets(buf, 0, 1, 9);
    const tampered = buf.slice();
    tampered[10]! ^= 1;
    const spans = new Uint32Array(2);
    expect(backends.buildOpener(keys).openPackets(buf, 0, buf.length, 9, 1024, spans)).toBe(1);
    // (a fresh module graph: compare the error by name, not by class)
    let name = 'no error';
    try {
      backends.buildOpener(keys).openPackets(tampered, 0, tampered.length, 9, 1024, spans);
    } catch (e) {
      name = (e as Error).name;
    }
    expect(name).toBe('IntegrityError');
  });

  it('a primitive no backend serves is absent (canServe* false)', async () => {
    const sel = await loadWith(undefined);
    expect(sel.chosenImpl('hmac-md5')).toBeUndefined();
    // UMAC has only the wasm implementation: unserved exactly when wasm cannot serve it.
    expect(sel.candidatesFor('umac-128@openssh.com').filter((c) => c.ok).map((c) => c.backend)).toEqual(sel.backendInfo().available.wasm.available ? ['wasm'] : []);
    expect(sel.candidatesFor('3des-cbc').find((c) => c.backend === 'js')!.ok).toBe(false);
  });
});
