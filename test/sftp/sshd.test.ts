/**
 * SFTP end to end through a private OpenSSH sshd (`Subsystem sftp
 * internal-sftp`): connect(), a session channel running the subsystem, and
 * our SFTPClient on it, with both AEAD ciphers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync, existsSync, createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { join } from 'node:path';
import { connect } from '../../ts/client.js';
import { SFTPError, SFTPTransferError } from '../../ts/errors.js';
import { openSftp, FX, PART_SUFFIX } from '../../ts/sftp/index.js';
import { makeKey } from '../auth/system.js';
import { rootLogin, startSshdTrusting, type Sshd } from '../helpers/sshd.js';
import { patternBytes, removeDir, scratchDir, sha256 } from './helpers.js';

let sshd: Sshd;
let dir: string;
let key: string;

beforeAll(async () => {
  dir = scratchDir();
  key = makeKey(dir, 'id_ed25519', 'ed25519');
  sshd = await startSshdTrusting(key, { config: ['Subsystem sftp internal-sftp'] });
}, 60_000);

afterAll(async () => {
  await sshd?.stop();
  removeDir(dir);
});

function opts(cipher: string) {
  return rootLogin(sshd, key, { algorithms: { cipher: [cipher] } });
}

describe.each(['aes128-gcm@openssh.com', 'chacha20-poly1305@openssh.com'])('through sshd with %s', (cipher) => {
  it('negotiates limits, transfers 16 MiB each way with equal sha256, lists and reports errors', async () => {
    await using conn = await connect(opts(cipher));
    const sftp = await openSftp(conn);
    try {
      expect(sftp.extensions.has('limits@openssh.com')).toBe(true);
      expect(sftp.limits.maxReadLength).toBe(255 * 1024);
      const data = patternBytes(16 * 1024 * 1024 + 5, 21);
      const src = join(dir, `src-${cipher}`);
      writeFileSync(src, data);
      await sftp.put(src, join(dir, `up-${cipher}`), { verify: true });
      expect(sha256(readFileSync(join(dir, `up-${cipher}`)))).toBe(sha256(data));
      expect(await sftp.get(join(dir, `up-${cipher}`), join(dir, `down-${cipher}`))).toBe(data.length);
      expect(sha256(readFileSync(join(dir, `down-${cipher}`)))).toBe(sha256(data));
      expect(await sftp.listdir(dir)).toContain(`up-${cipher}`);
      await expect(sftp.stat(join(dir, 'missing'))).rejects.toMatchObject({ status: FX.NO_SUCH_FILE, path: join(dir, 'missing') });
    } finally {
      await sftp.close();
    }
  });
});

describe.each(['aes128-gcm@openssh.com', 'chacha20-poly1305@openssh.com'])('rekeying mid-transfer through sshd with %s', (cipher) => {
  it('put and get 48 MiB across dozens of rekeys (rekeyBytes 1 MiB), 64 KiB chunks and streams, byte-exact', async () => {
    await using conn = await connect(rootLogin(sshd, key, { algorithms: { cipher: [cipher] }, rekeyBytes: 1 << 20 }));
    let rekeys = 0;
    conn.transport.on('rekey', () => rekeys++);
    const sftp = await openSftp(conn, { chunkSize: 64 * 1024 });
    try {
      const data = patternBytes(48 * 1024 * 1024 + 7, 37);
      const src = join(dir, `rk-src-${cipher}`);
      writeFileSync(src, data);
      await sftp.put(src, join(dir, `rk-up-${cipher}`));
      expect(sha256(readFileSync(join(dir, `rk-up-${cipher}`)))).toBe(sha256(data));
      await pipeline(createReadStream(src), sftp.createWriteStream(join(dir, `rk-ws-${cipher}`)));
      expect(sha256(readFileSync(join(dir, `rk-ws-${cipher}`)))).toBe(sha256(data));
      await sftp.get(src, join(dir, `rk-down-${cipher}`));
      expect(sha256(readFileSync(join(dir, `rk-down-${cipher}`)))).toBe(sha256(data));
      expect(rekeys).toBeGreaterThanOrEqual(48);
    } finally {
      await sftp.close();
    }
  }, 120_000);
});

describe('connection loss through sshd', () => {
  it('closing the SSH connection mid-get fails the transfer with a typed error and no final file', async () => {
    const big = patternBytes(32 * 1024 * 1024, 3);
    writeFileSync(join(dir, 'big'), big);
    const conn = await connect(opts('aes128-gcm@openssh.com'));
    const sftp = await openSftp(conn);
    const local = join(dir, 'big.get');
    let closed = false;
    const err = await sftp
      .get(join(dir, 'big'), local, {
        onProgress: (n) => {
          if (n > 2 * 1024 * 1024 && !closed) {
            closed = true;
            conn.close();
          }
        },
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SFTPTransferError);
    expect(existsSync(local)).toBe(false);
    const part = readFileSync(local + PART_SUFFIX);
    expect(part.length).toBe((err as SFTPTransferError).bytesTransferred);
    expect(part.equals(big.subarray(0, part.length))).toBe(true);
    await expect(sftp.stat(dir)).rejects.toBeInstanceOf(SFTPError);
  });
});
