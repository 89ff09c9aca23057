/**
 * sshwire: a complete SSH-2 library for Node.js.
 *
 * Everything public is exported from here, for both `import` and `require`.
 */
export * from './errors.js';
export { getBackendInfo } from './crypto/index.js';
export type { BackendInfo, BackendName, PrimitiveChoice } from './crypto/types.js';

// Clients: AsyncSSH-shaped connect() and Paramiko-shaped SSHClient, host key policies.
export {
  connect,
  startClient,
  ClientAuthSession,
  SSHClientConnection,
  SSHClient,
  MissingHostKeyPolicy,
  AutoAddPolicy,
  RejectPolicy,
  WarningPolicy,
  mapHosts,
  runOnHosts,
  parseTarget,
  type BulkTarget,
  type HostResult,
  type BulkOptions,
  type RunOnHostsOptions,
  type ConnectOptions,
  type ClientAlgorithmOptions,
  type ShellOptions,
  type ForwardLocalOptions,
  type SSHClientConnectOptions,
  type ExecCommandOptions,
  type InvokeShellOptions,
  type ChannelReadable,
  type DisabledAlgorithms,
  type EnabledAlgorithms,
  type HostKeyPolicyClient,
  type KeyInput,
  type ServerHostKeysUpdate,
  type ServerHostKeysHandler,
  AgentRequestHandler,
  type AgentRequestOptions,
  ClientTransport,
  type AddressPort,
} from './client.js';

// TCP port forwarding: what forwardLocal() / forwardRemote() / openConnection() take and return.
export type { LocalForwardListener, ForwardCloseOptions, OpenConnectionOptions } from './client/forwardLocal.js';
export type { RemoteForwardListener, ForwardRemoteOptions } from './client/forwardRemote.js';
export type { ForwardErrorHandler, ForwardedConnectionInfo } from './client/forwardRelay.js';

// User authentication policy constants and types (server side: AuthServerInterface).
export {
  AUTH_SUCCESSFUL,
  AUTH_PARTIALLY_SUCCESSFUL,
  AUTH_FAILED,
  InteractiveQuery,
  type AuthResult,
  type AuthServerInterface,
  type PublicKeyInfo,
  type Prompt,
  type KeyboardInteractiveHandler,
  type PasswordChangeHandler,
  type BannerHandler,
} from './auth/index.js';
// GSS-API (Kerberos 5) for gssapi-with-mic: connect({ gssAuth }) and listen({ gssapi }) use these.
export {
  Krb5Error,
  KRB_ERR,
  krb5ClientMechanism,
  krb5ServerMechanism,
  type Krb5ClientOptions,
  type Krb5ServerOptions,
  type Krb5ServerMechanism,
} from './auth/gssapi/index.js';
export type { GssClientContext, GssClientMechanism, GssServerContext, GssServerMechanism } from './auth/index.js';

// SFTP: the client, files, attributes, streams.
export {
  SFTPClient,
  SFTPFile,
  SFTPAttributes,
  SFTPReadStream,
  SFTPWriteStream,
  openSftp,
  type SFTPClientOptions,
  type SFTPStatVFS,
  type TransferOptions,
  type GetOptions,
  type PutOptions,
  type TreeOptions,
  type ReadStreamOptions,
  type WriteStreamOptions,
} from './sftp/index.js';

// Server: listen(), the ServerInterface policy, server processes, SFTP server (the whole of server.ts).
export * from './server.js';

// Keys (needed by server users: host keys, authorized keys). Added by the server engineer.
export { PrivateKey, PKey, PublicKey, type PrivateKeySource, type OpenSSHWriteOptions, type OpenSSHEncryption, type PpkEncryption, type PpkKdf, type PpkWriteOptions } from './keys/index.js';
// ssh-agent: Paramiko's Agent and AgentKey, and the client they are built on.
export { AgentClient, Agent, AgentKey, type AgentClientOptions, type AgentConstraints, type AgentDestination, type AgentHop, parseAgentDestination } from './keys/index.js';
// known_hosts (Paramiko's HostKeys / HostKeyEntry), authorized_keys, OpenSSH certificates.
export {
  HostKeys,
  HostKeyEntry,
  hashHostname,
  knownHostsName,
  type HostKeyMarker,
  type HostKeyVerification,
  type KnownHostsLocation,
  type HostKeysOptions,
  parseAuthorizedKeys,
  parseAuthorizedKeyLine,
  loadAuthorizedKeys,
  findAuthorizedKey,
  type AuthorizedKeyEntry,
  type AuthorizedKeyOptions,
  type AuthorizedKeyPermissions,
  type AuthorizedKeyContext,
  type Certificate,
  checkCertificate,
  KeyRevocationList,
  SSH_CERT_TYPE_USER,
  SSH_CERT_TYPE_HOST,
  fingerprintSha256,
  fingerprintMd5,
} from './keys/index.js';
// Channels and processes (Paramiko's Channel; AsyncSSH's SSHClientProcess), what run/exec/shell return.
export {
  Channel,
  SessionChannel,
  SSHClientProcess,
  Connection,
  type ChannelExit,
  type ExitSignal,
  type PtyOptions,
  type ExecOptions,
  type RunOptions,
  type RunResult,
  type ProcessExit,
  type WaitOptions,
} from './connection/index.js';
// ssh_config and proxies (Paramiko's SSHConfig, SSHConfigDict, ProxyCommand).
export {
  SSHConfig,
  SSHConfigDict,
  ProxyCommand,
  ProxyCommandExitError,
  parseProxyJump,
  type LookupOptions,
  type ParseOptions,
  type ProxyCommandOptions,
  type ProxyCommandExit,
  type ProxyJumpHop,
} from './config/index.js';
// SSH wire encoding (Paramiko's Message): build and read payloads for globalRequest, channel.request and custom channels.
export { SSHReader, SSHWriter } from './wire/index.js';
// SFTP protocol numbers: status codes (what an SFTPServerInterface returns), open flags, attribute flags, file types.
export { FX, FX_NAMES, FXF, ATTR, S_IFMT, S_IFREG, S_IFDIR, S_IFLNK } from './sftp/index.js';
