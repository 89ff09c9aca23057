/**
 * The SSH server: `listen()` returning an SSHServer, the policy interface
 * (Paramiko's ServerInterface), server processes (AsyncSSH's
 * SSHServerProcess), subsystem handlers and the SFTP server. The pieces
 * live in ts/server/ and ts/sftp/server/.
 */
export { createServer, listen, SSHServer } from './server/sshServer.js';
export { SSHServerConnection, type ConnectionPeer } from './server/serverConnection.js';
export { AgentServerProxy, type AgentServerProxyOptions } from './server/agentForward.js';
export type { ListenOptions, HostKeyInput, SpawnOptions, ServerAlgorithmOptions } from './server/options.js';
export {
  OPEN_SUCCEEDED,
  OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED,
  OPEN_FAILED_CONNECT_FAILED,
  OPEN_FAILED_UNKNOWN_CHANNEL_TYPE,
  OPEN_FAILED_RESOURCE_SHORTAGE,
  type ServerInterface,
  type HostPort,
} from './server/serverInterface.js';
export { SSHServerProcess, type ServerPty, type ServerProcessFactory } from './server/process.js';
export type { SubsystemHandler, SubsystemHandlerInstance } from './server/subsystems.js';
export {
  SFTPServerSession,
  LocalFilesystem,
  type SFTPServerInterface,
  type SFTPHandle,
  type SFTPResult,
  type SFTPStatVFSInfo,
  type LocalFilesystemOptions,
  type SFTPServerSessionOptions,
} from './sftp/server/index.js';
