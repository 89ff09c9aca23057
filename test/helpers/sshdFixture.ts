/**
 * A private OpenSSH sshd for one describe block (or file): started before
 * its tests with a fresh ed25519 client key it trusts, stopped after.
 */
import { afterAll, beforeAll } from 'vitest';
import { makeKey } from '../auth/system.js';
import { makeTempDir } from '../keys/helpers.js';
import { startSshdTrusting, type Sshd } from './sshd.js';

/** Registers the hooks; read `sshd` and `key` (the client key's path) inside tests. */
export function useSshdTrusting(tempPrefix: string): { readonly sshd: Sshd; readonly key: string } {
  let tmp: { dir: string; cleanup: () => void } | undefined;
  let sshd: Sshd | undefined;
  let key: string | undefined;
  beforeAll(async () => {
    tmp = makeTempDir(tempPrefix);
    key = makeKey(tmp.dir, 'id_ed25519', 'ed25519');
    sshd = await startSshdTrusting(key);
  }, 60_000);
  afterAll(async () => {
    await sshd?.stop();
    tmp?.cleanup();
  });
  return {
    get sshd(): Sshd {
      if (!sshd) throw new Error('sshd fixture used outside its tests');
      return sshd;
    },
    get key(): string {
      if (!key) throw new Error('sshd fixture used outside its tests');
      return key;
    },
  };
}
