/**
 * Kerberos principal names: display form ("alice@REALM",
 * "host/server.example.com@REALM"), parsing it back, and comparison.
 */
import { NT, type PrincipalName } from './krb5Types.js';

/** A principal with its realm. */
export interface Principal {
  realm: string;
  name: PrincipalName;
}

const escape = (s: string): string => s.replace(/[\\/@]/g, (c) => `\\${c}`).replace(/\n/g, '\\n').replace(/\t/g, '\\t').replace(/\0/g, '\\0');

/** The display form, with '/', '@' and '\' escaped inside components as MIT does. */
export function formatPrincipal(p: Principal): string {
  return `${p.name.nameString.map(escape).join('/')}@${escape(p.realm)}`;
}

/**
 * Parses "a/b@REALM" (backslash escapes honoured). Without a realm the
 * `defaultRealm` is used. The name type is PRINCIPAL for one component and
 * SRV_INST for more; it is informational, and comparisons ignore it.
 */
export function parsePrincipal(text: string, defaultRealm = ''): Principal {
  const parts: string[] = [''];
  let realm: string | null = null;
  for (let i = 0; i < text.length; i++) {
    let c = text[i]!;
    if (c === '\\' && i + 1 < text.length) {
      const n = text[++i]!;
      c = n === 'n' ? '\n' : n === 't' ? '\t' : n === '0' ? '\0' : n;
    } else if (c === '@' && realm === null) {
      realm = '';
      continue;
    } else if (c === '/' && realm === null) {
      parts.push('');
      continue;
    }
    if (realm !== null) realm += c;
    else parts[parts.length - 1] += c;
  }
  return { realm: realm ?? defaultRealm, name: { nameType: parts.length > 1 ? NT.SRV_INST : NT.PRINCIPAL, nameString: parts } };
}

/** The host-based service principal service/host (GSS_C_NT_HOSTBASED_SERVICE). */
export function hostServicePrincipal(service: string, host: string, realm: string): Principal {
  return { realm, name: { nameType: NT.SRV_HST, nameString: [service, host.toLowerCase()] } };
}

/** Same realm and components (the name type is not compared, as RFC 4120 6.2 allows). */
export function samePrincipal(a: Principal, b: Principal): boolean {
  return a.realm === b.realm && a.name.nameString.length === b.name.nameString.length && a.name.nameString.every((s, i) => s === b.name.nameString[i]);
}
