/**
 * Groups for the server side of diffie-hellman-group-exchange (RFC 4419):
 * OpenSSH's moduli(5) file format, and choosing a group for a client's
 * (min, n, max) request the way sshd does.
 */
import { readFileSync, statSync } from 'node:fs';
import { modpGroup, randomBytes } from '../../crypto/index.js';
import { SSHException } from '../../errors.js';

/** A finite-field group for group exchange. */
export interface DHGroup {
  /** Size of the prime in bits. */
  bits: number;
  prime: bigint;
  generator: bigint;
}

/**
 * What the server offers without a moduli file: RFC 3526 groups 14 to 18
 * (2048 to 8192 bits), smallest first, from the crypto layer's constants.
 */
export const BUILTIN_GEX_GROUPS: readonly DHGroup[] = (['group14', 'group15', 'group16', 'group17', 'group18'] as const).map((name) => {
  const g = modpGroup(name);
  return { bits: g.prime.toString(2).length, prime: g.prime, generator: g.generator };
});

/** moduli(5) type 2: safe prime; tests bit 0x04: Miller-Rabin done. */
const MODULI_TYPE_SAFE = 2;
const MODULI_TESTS_MILLER_RABIN = 0x04;

/**
 * Parses a moduli(5) file's text. Lines are
 * `time type tests tries size generator modulus` with size = bits - 1.
 * Lines that are not safe primes tested with Miller-Rabin are skipped, as
 * sshd does; malformed lines are skipped too.
 */
export function parseModuli(text: string): DHGroup[] {
  const groups: DHGroup[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split(/\s+/);
    if (f.length !== 7) continue;
    const type = Number(f[1]);
    const tests = Number(f[2]);
    const size = Number(f[4]);
    if (type !== MODULI_TYPE_SAFE || !(tests & MODULI_TESTS_MILLER_RABIN) || !Number.isInteger(size)) continue;
    if (!/^[0-9a-fA-F]+$/.test(f[5]!) || !/^[0-9a-fA-F]+$/.test(f[6]!)) continue;
    const prime = BigInt('0x' + f[6]!);
    const generator = BigInt('0x' + f[5]!);
    const bits = prime.toString(2).length;
    // size is the bit count minus one; a mismatch means a corrupt line.
    if (bits !== size + 1 || bits < 1024 || bits > 16384 || generator < 2n) continue;
    groups.push({ bits, prime, generator });
  }
  return groups;
}

/** Parsed moduli files by path, kept while the file's size and mtime stay the same (a server reads it per connection). */
const moduliCache = new Map<string, { stamp: string; groups: DHGroup[] }>();

/** Reads and parses a moduli file. Throws SSHException if it cannot be read or holds no usable group. */
export function loadModuliFile(path: string): DHGroup[] {
  let text: string;
  let stamp: string;
  try {
    const st = statSync(path);
    stamp = `${st.size}:${st.mtimeMs}`;
    const hit = moduliCache.get(path);
    if (hit && hit.stamp === stamp) return hit.groups;
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new SSHException(`cannot read moduli file ${path}: ${(err as Error).message}`, { code: 'ERR_SSH_BAD_OPTION', cause: err });
  }
  const groups = parseModuli(text);
  if (groups.length === 0) throw new SSHException(`moduli file ${path} holds no usable group`, { code: 'ERR_SSH_BAD_OPTION' });
  if (moduliCache.size >= 16) moduliCache.clear();
  moduliCache.set(path, { stamp, groups });
  return groups;
}

/**
 * Chooses a group for a (min, n, max) request: among groups with
 * min <= bits <= max, those with the smallest bits >= n (else the largest
 * below n), then one of them at random. Null when none fits.
 */
export function chooseGroup(groups: readonly DHGroup[], min: number, n: number, max: number): DHGroup | null {
  const fitting = groups.filter((g) => g.bits >= min && g.bits <= max);
  if (fitting.length === 0) return null;
  const atLeast = fitting.filter((g) => g.bits >= n);
  let size: number;
  if (atLeast.length > 0) size = Math.min(...atLeast.map((g) => g.bits));
  else size = Math.max(...fitting.map((g) => g.bits));
  const same = fitting.filter((g) => g.bits === size);
  const pick = randomBytes(4);
  const index = ((pick[0]! << 24) | (pick[1]! << 16) | (pick[2]! << 8) | pick[3]!) >>> 0;
  return same[index % same.length]!;
}
