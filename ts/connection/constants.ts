/**
 * Numbers from RFC 4254 and the defaults this layer uses.
 */

/** SSH_MSG_CHANNEL_OPEN_FAILURE reason codes (RFC 4254 section 5.1). */
export const OPEN_FAILURE = {
  ADMINISTRATIVELY_PROHIBITED: 1,
  CONNECT_FAILED: 2,
  UNKNOWN_CHANNEL_TYPE: 3,
  RESOURCE_SHORTAGE: 4,
} as const;

/** Names of the reason codes, for error messages. */
export const OPEN_FAILURE_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(OPEN_FAILURE).map(([k, v]) => [v, k]),
);

/** Extended data type codes (RFC 4254 section 5.2): only stderr is defined. */
export const EXTENDED_DATA_STDERR = 1;

/** Default receive window of a channel: 2 MiB, as AsyncSSH and OpenSSH use. */
export const DEFAULT_WINDOW = 2 * 1024 * 1024;
/** Default largest data packet we accept: 32 KiB, the size every implementation must handle. */
export const DEFAULT_MAX_PACKET = 32 * 1024;
/** Largest window a peer may grant or we may offer (a uint32 on the wire). */
export const MAX_WINDOW = 0xffffffff;
/**
 * Largest data packet we offer to receive. The transport accepts payloads of
 * up to 256 KiB; the 13-byte EXTENDED_DATA header and some slack stay below.
 */
export const MAX_MAX_PACKET = 256 * 1024 - 2048;
/** Default bound on simultaneously open channels: servers guard against floods, clients rarely need a limit. */
export const DEFAULT_MAX_CHANNELS_SERVER = 1024;
export const DEFAULT_MAX_CHANNELS_CLIENT = 65536;
/** Default time allowed for a reply to a channel open, channel request or global request. */
export const DEFAULT_REQUEST_TIMEOUT = 60_000;
/** Bounds on names and strings read from the wire. */
export const LIMITS = {
  /** Channel type, request type and global request names. */
  name: 1024,
  /** Descriptions in OPEN_FAILURE, signal messages, language tags. */
  text: 8192,
} as const;
