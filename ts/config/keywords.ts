/**
 * How each ssh_config keyword's value is read and combined. Keys are the
 * lowercase keyword names, as OpenSSH prints them with `ssh -G`.
 */

/**
 * - `single`: first obtained value wins; at most `maxArgs` arguments (default 1).
 * - `list`: first obtained line wins; any number of arguments kept as a list.
 * - `command`: first obtained value wins; the raw rest of the line, for the shell.
 * - `accumulate`: every matching line adds to a de-duplicated list.
 */
export type KeywordKind = 'single' | 'list' | 'command' | 'accumulate';

export interface KeywordSpec {
  readonly kind: KeywordKind;
  /** Most arguments one line may carry (for `single` and `accumulate`). */
  readonly maxArgs: number;
  /** For `accumulate`: whether each argument is its own entry (SendEnv) or the line is one entry (LocalForward). */
  readonly perArgument?: boolean;
}

const single = (maxArgs = 1): KeywordSpec => ({ kind: 'single', maxArgs });
const list: KeywordSpec = { kind: 'list', maxArgs: Infinity };
const command: KeywordSpec = { kind: 'command', maxArgs: Infinity };

/** Keywords whose lines add up rather than the first one winning. */
const ACCUMULATING: Record<string, KeywordSpec> = {
  identityfile: { kind: 'accumulate', maxArgs: 1 },
  certificatefile: { kind: 'accumulate', maxArgs: 1 },
  dynamicforward: { kind: 'accumulate', maxArgs: 1 },
  localforward: { kind: 'accumulate', maxArgs: 2 },
  remoteforward: { kind: 'accumulate', maxArgs: 2 },
  sendenv: { kind: 'accumulate', maxArgs: Infinity, perArgument: true },
};

/** Keywords with a non-default shape; every other known keyword takes one argument. */
const SPECIAL: Record<string, KeywordSpec> = {
  ...ACCUMULATING,
  proxycommand: command,
  localcommand: command,
  remotecommand: command,
  knownhostscommand: command,
  canonicaldomains: list,
  canonicalizepermittedcnames: list,
  globalknownhostsfile: list,
  userknownhostsfile: list,
  // OpenSSH 9.2 keeps only the first SetEnv line (checked against `ssh -G`).
  setenv: list,
  logverbose: list,
  permitremoteopen: list,
  channeltimeout: list,
  ipqos: single(2),
  addkeystoagent: single(2),
  rekeylimit: single(2),
};

/** Every keyword OpenSSH 9.x documents in ssh_config(5), lowercase. */
const KNOWN = new Set<string>([
  'host', 'match', 'include',
  'addkeystoagent', 'addressfamily', 'batchmode', 'bindaddress', 'bindinterface',
  'canonicaldomains', 'canonicalizefallbacklocal', 'canonicalizehostname', 'canonicalizemaxdots',
  'canonicalizepermittedcnames', 'casignaturealgorithms', 'certificatefile', 'channeltimeout',
  'checkhostip', 'ciphers', 'clearallforwardings', 'compression', 'connectionattempts',
  'connecttimeout', 'controlmaster', 'controlpath', 'controlpersist', 'dynamicforward',
  'enableescapecommandline', 'enablesshkeysign', 'escapechar', 'exitonforwardfailure',
  'fingerprinthash', 'forkafterauthentication', 'forwardagent', 'forwardx11', 'forwardx11timeout',
  'forwardx11trusted', 'gatewayports', 'globalknownhostsfile', 'gssapiauthentication',
  'gssapiclientidentity', 'gssapidelegatecredentials', 'gssapikeyexchange',
  'gssapirenewalforcesrekey', 'gssapiserveridentity', 'gssapitrustdns', 'gssapikexalgorithms',
  'hashknownhosts', 'hostbasedacceptedalgorithms', 'hostbasedauthentication', 'hostkeyalgorithms',
  'hostkeyalias', 'hostname', 'identitiesonly', 'identityagent', 'identityfile', 'ignoreunknown',
  'ipqos', 'kbdinteractiveauthentication', 'kbdinteractivedevices', 'kexalgorithms',
  'knownhostscommand', 'localcommand', 'localforward', 'loglevel', 'logverbose', 'macs',
  'nohostauthenticationforlocalhost', 'numberofpasswordprompts', 'obscurekeystroketiming',
  'passwordauthentication', 'permitlocalcommand', 'permitremoteopen', 'pkcs11provider', 'port',
  'preferredauthentications', 'proxycommand', 'proxyjump', 'proxyusefdpass',
  'pubkeyacceptedalgorithms', 'pubkeyauthentication', 'rekeylimit', 'remotecommand',
  'remoteforward', 'requesttty', 'requiredrsasize', 'revokedhostkeys', 'securitykeyprovider',
  'sendenv', 'serveralivecountmax', 'serveraliveinterval', 'sessiontype', 'setenv', 'stdinnull',
  'streamlocalbindmask', 'streamlocalbindunlink', 'stricthostkeychecking', 'syslogfacility',
  'tag', 'tcpkeepalive', 'tunnel', 'tunneldevice', 'updatehostkeys', 'user', 'userknownhostsfile',
  'verifyhostkeydns', 'visualhostkey', 'xauthlocation',
]);

/** Deprecated spellings OpenSSH still accepts, mapped to the current keyword. */
const ALIASES: Record<string, string> = {
  pubkeyacceptedkeytypes: 'pubkeyacceptedalgorithms',
  hostbasedkeytypes: 'hostbasedacceptedalgorithms',
  challengeresponseauthentication: 'kbdinteractiveauthentication',
  skeyauthentication: 'kbdinteractiveauthentication',
  tisauthentication: 'kbdinteractiveauthentication',
};

/** Lowercase a keyword and resolve deprecated aliases. */
export function canonicalKeyword(keyword: string): string {
  const lower = keyword.toLowerCase();
  return ALIASES[lower] ?? lower;
}

/** Whether OpenSSH documents this (canonical, lowercase) keyword. */
export function isKnownKeyword(key: string): boolean {
  return KNOWN.has(key);
}

/** The value shape of a (canonical, lowercase) keyword. Unknown keywords are kept as lists. */
export function keywordSpec(key: string): KeywordSpec {
  const special = SPECIAL[key];
  if (special !== undefined) return special;
  return KNOWN.has(key) ? single() : list;
}

/** Whether a key's lines accumulate (IdentityFile and friends). */
export function isAccumulating(key: string): boolean {
  return ACCUMULATING[key] !== undefined;
}
