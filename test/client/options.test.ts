/**
 * Pure option logic: ssh_config algorithm specs, the RSA signature
 * algorithm choice, and host key algorithm preference from known_hosts.
 */
import { describe, expect, it } from 'vitest';
import { signatureAlgorithmsToTry } from '../../ts/auth/index.js';
import { applyAlgorithmSpec } from '../../ts/client/sshConfigOptions.js';
import { preferredHostKeyAlgorithms } from '../../ts/client/hostKeyCheck.js';
import { HostKeys, PrivateKey } from '../../ts/keys/index.js';
import type { Signer } from '../../ts/crypto/types.js';

describe('applyAlgorithmSpec (ssh_config +, -, ^, replace)', () => {
  const d = ['a', 'b', 'c-1', 'c-2'];
  it('replaces', () => expect(applyAlgorithmSpec('x,y', d, 'K')).toEqual(['x', 'y']));
  it('appends without duplicates', () => expect(applyAlgorithmSpec('+b,z', d, 'K')).toEqual(['a', 'b', 'c-1', 'c-2', 'z']));
  it('removes with wildcards', () => expect(applyAlgorithmSpec('-c-*,a', d, 'K')).toEqual(['b']));
  it('puts first', () => expect(applyAlgorithmSpec('^c-2,z', d, 'K')).toEqual(['c-2', 'z', 'a', 'b', 'c-1']));
  it('rejects an empty list', () => expect(() => applyAlgorithmSpec('+', d, 'Ciphers')).toThrow(/Ciphers/));
});

describe('signatureAlgorithmsToTry', () => {
  const rsa: Signer = { keyType: 'ssh-rsa', publicKeyBlob: new Uint8Array(1), signatureAlgorithms: ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'], sign: () => new Uint8Array(0) };
  const ed: Signer = { keyType: 'ssh-ed25519', publicKeyBlob: new Uint8Array(1), signatureAlgorithms: ['ssh-ed25519'], sign: () => new Uint8Array(0) };
  it('RSA without server-sig-algs: the SHA-2 algorithms, never SHA-1 by default', () => {
    expect(signatureAlgorithmsToTry(rsa, null)).toEqual(['rsa-sha2-512', 'rsa-sha2-256']);
  });
  it('RSA follows server-sig-algs', () => {
    expect(signatureAlgorithmsToTry(rsa, ['ssh-ed25519', 'rsa-sha2-256'])).toEqual(['rsa-sha2-256']);
    expect(signatureAlgorithmsToTry(rsa, ['ssh-rsa'])).toEqual([]);
    expect(signatureAlgorithmsToTry(rsa, ['ssh-rsa'], ['rsa-sha2-512', 'ssh-rsa'])).toEqual(['ssh-rsa']);
  });
  it('other key types ignore server-sig-algs', () => {
    expect(signatureAlgorithmsToTry(ed, ['rsa-sha2-512'])).toEqual(['ssh-ed25519']);
  });
});

describe('preferredHostKeyAlgorithms', () => {
  it('moves the recorded key types first; null when nothing is recorded', () => {
    const hk = new HostKeys();
    expect(preferredHostKeyAlgorithms([hk], 'example.com', 2222)).toBeNull();
    const k = PrivateKey.generate('ecdsa', 384);
    hk.add('[example.com]:2222', k.keyType, k);
    const rsa = PrivateKey.generate('rsa', 2048);
    hk.add('[example.com]:2222', 'ssh-rsa', rsa);
    const list = preferredHostKeyAlgorithms([hk], 'example.com', 2222)!;
    expect(list.slice(0, 3)).toEqual(['ecdsa-sha2-nistp384', 'rsa-sha2-512', 'rsa-sha2-256']);
    expect(list).toContain('ssh-ed25519');
    expect(preferredHostKeyAlgorithms([hk], 'example.com', 22)).toBeNull();
  });
});
