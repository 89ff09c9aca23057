/**
 * The two client APIs: `connect()` (AsyncSSH-shaped) returning an
 * SSHClientConnection, and `SSHClient` (Paramiko-shaped), with the host key
 * policies. The pieces live in ts/client/.
 */
export { connect, loadKnownHosts, type ConnectOptions, type ClientAlgorithmOptions } from './client/connect.js';
export { startClient, ClientAuthSession } from './client/authSession.js';
export { SSHClientConnection, type ShellOptions, type ForwardLocalOptions } from './client/clientConnection.js';
export {
  SSHClient,
  type SSHClientConnectOptions,
  type ExecCommandOptions,
  type InvokeShellOptions,
  type ChannelReadable,
  type DisabledAlgorithms,
  type EnabledAlgorithms,
} from './client/sshClient.js';
export { AgentRequestHandler, type AgentRequestOptions } from './client/agentForward.js';
export { ClientTransport, type AddressPort } from './client/clientTransport.js';
export { MissingHostKeyPolicy, AutoAddPolicy, RejectPolicy, WarningPolicy, type HostKeyPolicyClient } from './client/policies.js';
export type { KeyInput } from './client/identities.js';
export type { ServerHostKeysUpdate, ServerHostKeysHandler } from './client/hostKeysUpdate.js';
export { mapHosts, runOnHosts, parseTarget, type BulkTarget, type HostResult, type BulkOptions, type RunOnHostsOptions } from './client/bulk.js';
