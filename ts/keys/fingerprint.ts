/**
 * Key fingerprints in the forms OpenSSH prints them (`ssh-keygen -l`).
 */
import { createHash } from 'node:crypto';

/** `SHA256:` and the unpadded base64 of SHA-256(blob), as `ssh-keygen -l` prints. */
export function fingerprintSha256(blob: Uint8Array): string {
  const digest = createHash('sha256').update(blob).digest('base64');
  return 'SHA256:' + digest.replace(/=+$/, '');
}

/** `MD5:` and colon-separated hex of MD5(blob), as `ssh-keygen -l -E md5` prints. */
export function fingerprintMd5(blob: Uint8Array): string {
  const hex = createHash('md5').update(blob).digest('hex');
  return 'MD5:' + hex.match(/../g)!.join(':');
}
