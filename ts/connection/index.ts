/**
 * The SSH connection protocol (RFC 4254): channels with flow control,
 * session requests, global requests, both roles.
 */
export {
  Connection,
  connectionOf,
  resolveConnectionOptions,
  type ConnectionOptions,
  type ResolvedConnectionOptions,
  type GlobalRequestHandler,
  type GlobalRequestResult,
  type ChannelOpenHandler,
  type RequestOptions,
} from './connection.js';
export { Channel, ChannelRequest, type ChannelRequestHandler, type ChannelExit, type ChannelInit, type ChannelHost } from './channel.js';
export { SessionChannel, type PtyOptions, type X11Options } from './session.js';
export { IncomingChannelRequest, type AcceptOptions } from './incoming.js';
export {
  parseChannelRequest,
  encodeTcpipOpenData,
  parseTcpipOpenData,
  type ParsedChannelRequest,
  type ExitSignal,
  type TcpipOpenData,
} from './requests.js';
export { TERMINAL_MODES, encodeTerminalModes, decodeTerminalModes } from './modes.js';
export {
  OPEN_FAILURE,
  EXTENDED_DATA_STDERR,
  DEFAULT_WINDOW,
  DEFAULT_MAX_PACKET,
  DEFAULT_MAX_CHANNELS_CLIENT,
  DEFAULT_MAX_CHANNELS_SERVER,
  DEFAULT_REQUEST_TIMEOUT,
} from './constants.js';
export { runCommand, execProcess, returnCode, SSHClientProcess, type ExecOptions, type RunOptions, type RunResult, type ProcessExit } from './process.js';
export { relay } from './relay.js';
export { InOrder } from './inOrder.js';
export type { ConnectionTransport } from './transport.js';
export { checkWaitOptions, type WaitOptions } from './wait.js';
export { checkLayerOptions } from './optionChecks.js';
