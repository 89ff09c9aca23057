/**
 * The keys layer: key files, public keys and certificates, fingerprints,
 * known_hosts, authorized_keys, and the ssh-agent client.
 */
export { isPrivateKeyText, PrivateKey, PKey, type PrivateKeySource } from './privateKey.js';
export { PublicKey, encodeSshSignature } from './publicKey.js';
export {
  type Certificate, parseCertificate, verifyCertificateSignature, checkCertificate, isCertificateType,
  CERT_KEY_TYPES, CERT_FOREVER, SSH_CERT_TYPE_USER, SSH_CERT_TYPE_HOST,
} from './certificate.js';
export { fingerprintSha256, fingerprintMd5 } from './fingerprint.js';
export { type KeyType, KEY_TYPES, signatureAlgorithmsFor } from './keyTypes.js';
export { type OpenSSHWriteOptions, type OpenSSHEncryption } from './opensshFormat.js';
export { type PpkEncryption, type PpkKdf, type PpkWriteOptions } from './ppkFormat.js';
export {
  HOSTKEYS_NOTICE, HOSTKEYS_PROVE, MAX_ANNOUNCED_HOST_KEYS, encodeStringList, decodeStringList, hostKeyProofData,
} from './hostKeyProof.js';
export { bcryptPbkdf } from './bcryptPbkdf.js';
export {
  HostKeys, HostKeyEntry, hashHostname, knownHostsName,
  type HostKeyMarker, type HostKeyVerification, type KnownHostsLocation, type HostKeysOptions,
} from './knownHosts.js';
export {
  parseAuthorizedKeys, parseAuthorizedKeyLine, loadAuthorizedKeys, findAuthorizedKey,
  type AuthorizedKeyEntry, type AuthorizedKeyOptions, type AuthorizedKeyPermissions, type AuthorizedKeyContext,
  type AuthorizedKeysError, type UnknownOption,
} from './authorizedKeys.js';
export { matchPattern, matchPatternList, matchAddressList, matchHostAndAddress } from './hostPatterns.js';
export { KeyRevocationList, isKrl, MAX_KRL_BYTES } from './krl.js';
export {
  AgentClient, Agent, AgentKey, type AgentClientOptions, type AgentConstraints,
  SSH_AGENT_RSA_SHA2_256, SSH_AGENT_RSA_SHA2_512, MAX_AGENT_REPLY,
} from './agent.js';
export { type AgentDestination, type AgentHop, parseAgentDestination } from './agentDestinations.js';
