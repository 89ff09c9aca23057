/**
 * Hostname canonicalization (CanonicalizeHostname / CanonicalDomains /
 * CanonicalizeFallbackLocal), as OpenSSH's resolve_canonicalize(): try
 * `name.domain.` for each domain with a rooted (trailing-dot) lookup so the
 * resolver's own search list does not interfere.
 */
import { promises as dns } from 'node:dns';

import { CouldNotCanonicalize } from '../errors.js';
import { checkDuration } from '../transport/index.js';

/** Whether a fully-qualified (trailing-dot) name resolves. `family` 0 means any. */
export type HostResolver = (name: string, family: 0 | 4 | 6) => Promise<boolean>;

/** Default limit for one DNS lookup during canonicalization. */
export const DEFAULT_DNS_TIMEOUT_MS = 5_000;

/**
 * A resolver using the system's getaddrinfo (so /etc/hosts counts, as for
 * OpenSSH) with a time limit; a lookup that runs out of time counts as "not found".
 * `timeoutMs`: 0 to 2^31-1, 0 = no limit; another value throws SSHException
 * ERR_SSH_BAD_OPTION.
 */
export function systemResolver(timeoutMs = DEFAULT_DNS_TIMEOUT_MS): HostResolver {
  checkDuration('dnsTimeoutMs', timeoutMs, { zero: 'no limit' });
  return async (name, family) => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      if (timeoutMs > 0) timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const lookup = dns.lookup(name, { family, all: true }).then(
      (addrs) => addrs.length > 0,
      () => false,
    );
    try {
      return await Promise.race([lookup, timeout]);
    } finally {
      clearTimeout(timer);
    }
  };
}

/** The config values canonicalization reads. */
export interface CanonicalizeSettings {
  /** AddressFamily: any, inet or inet6. */
  readonly addressFamily?: string | undefined;
  /** CanonicalizeFallbackLocal; anything but no/false means yes. */
  readonly fallbackLocal?: string | undefined;
}

function familyOf(addressFamily: string | undefined): 0 | 4 | 6 {
  const v = addressFamily?.toLowerCase();
  return v === 'inet' ? 4 : v === 'inet6' ? 6 : 0;
}

/**
 * Return the canonical form of `hostname`: the first `hostname.domain` that
 * resolves, or `hostname` itself when none does and fallback is allowed.
 * A name ending in `.` is already rooted: it is resolved as is and returned
 * without the dot.
 *
 * @throws CouldNotCanonicalize when nothing resolves and CanonicalizeFallbackLocal is no.
 */
export async function canonicalizeHostname(
  hostname: string,
  settings: CanonicalizeSettings,
  domains: readonly string[],
  resolver: HostResolver,
): Promise<string> {
  const family = familyOf(settings.addressFamily);
  if (hostname.endsWith('.')) {
    if (await resolver(hostname, family)) return hostname.slice(0, -1);
  } else {
    for (const domain of domains) {
      const candidate = `${hostname}.${domain.replace(/^\.+|\.+$/g, '')}`;
      if (await resolver(`${candidate}.`, family)) return candidate.toLowerCase();
    }
  }
  const fallback = settings.fallbackLocal?.toLowerCase();
  if (fallback === 'no' || fallback === 'false') {
    throw new CouldNotCanonicalize(
      `could not canonicalize "${hostname}" in domains [${domains.join(', ')}] and CanonicalizeFallbackLocal is no`,
    );
  }
  return hostname;
}
