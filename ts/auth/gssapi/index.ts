/**
 * GSS-API with the Kerberos 5 mechanism: user authentication
 * (gssapi-with-mic, gssapi-keyex) and the contexts of GSS-API key exchange
 * (RFC 4462), all written in TypeScript on node:crypto: no
 * system GSS library is loaded. The client uses the credential cache that
 * `kinit` fills; the server, a keytab.
 */
export { krb5ClientMechanism, krb5KexOptions, krb5KexOptionsIfAvailable, type Krb5ClientOptions } from './krb5Client.js';
export { krb5ServerMechanism, type Krb5ServerMechanism, type Krb5ServerOptions } from './krb5Server.js';
export { Krb5Error, KRB_ERR, krbErrorName } from './krb5Errors.js';
export { formatPrincipal, parsePrincipal, type Principal } from './principal.js';
