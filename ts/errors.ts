/**
 * Every error sshwire raises is one of these classes. Each carries a stable
 * `code` string users can switch on, and never a key, password or plaintext.
 *
 * The names follow Paramiko's exceptions (SSHException and its family) so that
 * code ported from Python keeps its shape.
 */

/** Base class of every sshwire error. */
export class SSHException extends Error {
  /** A stable, machine-readable identifier for the kind of failure. */
  readonly code: string;
  constructor(message: string, options?: { code?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options?.code ?? 'ERR_SSH';
  }
}

/** The peer broke the SSH protocol: malformed packet, unexpected message, bad version line. */
export class ProtocolError extends SSHException {
  constructor(message: string, options?: { code?: string; cause?: unknown }) {
    super(message, { code: options?.code ?? 'ERR_SSH_PROTOCOL', cause: options?.cause });
  }
}

/** A packet failed its MAC or AEAD tag check: corrupted or forged data. */
export class IntegrityError extends ProtocolError {
  constructor(message = 'packet integrity check failed (bad MAC or authentication tag)') {
    super(message, { code: 'ERR_SSH_INTEGRITY' });
  }
}

/** Bad arguments to a crypto primitive (key, nonce or buffer sizes), or an unusable backend. */
export class CryptoError extends SSHException {
  constructor(message: string, options?: { code?: string; cause?: unknown }) {
    super(message, { code: options?.code ?? 'ERR_SSH_CRYPTO', cause: options?.cause });
  }
}

/** No algorithm both sides accept, for one of the negotiated categories. */
export class NegotiationError extends SSHException {
  constructor(message: string) {
    super(message, { code: 'ERR_SSH_NEGOTIATION' });
  }
}

/** The peer sent SSH_MSG_DISCONNECT, or we disconnected with a reason. */
export class DisconnectError extends SSHException {
  /** The RFC 4253 reason code. */
  readonly reason: number;
  constructor(message: string, reason: number) {
    super(message, { code: 'ERR_SSH_DISCONNECT' });
    this.reason = reason;
  }
}

/** Authentication failed. */
export class AuthenticationException extends SSHException {
  /** Methods the server still allows, when known. */
  readonly allowedTypes: string[];
  constructor(message: string, options?: { code?: string; allowedTypes?: string[]; cause?: unknown }) {
    super(message, { code: options?.code ?? 'ERR_SSH_AUTH', cause: options?.cause });
    this.allowedTypes = options?.allowedTypes ?? [];
  }
}

/** The server does not allow the authentication type that was tried. */
export class BadAuthenticationType extends AuthenticationException {
  constructor(message: string, allowedTypes: string[]) {
    super(message, { code: 'ERR_SSH_BAD_AUTH_TYPE', allowedTypes });
  }
}

/** One method succeeded, but the server requires more (e.g. publickey then password). */
export class PartialAuthentication extends AuthenticationException {
  constructor(message: string, allowedTypes: string[]) {
    super(message, { code: 'ERR_SSH_PARTIAL_AUTH', allowedTypes });
  }
}

/** A private key is encrypted and no passphrase, or a wrong one, was given. */
export class PasswordRequiredException extends AuthenticationException {
  constructor(message: string) {
    super(message, { code: 'ERR_SSH_PASSPHRASE' });
  }
}

/**
 * The host key the server presented was refused: it does not match the one
 * on record; it is marked `@revoked` in known_hosts (`expectedFingerprint`
 * is then `''`); or a Transport's own `verifyHostKey` callback returned
 * false (`hostname` and `expectedFingerprint` are then `''`).
 */
export class BadHostKeyException extends SSHException {
  /** The host as known_hosts names it (`host`, or `[host]:port` off port 22); `''` when a Transport's own `verifyHostKey` returned false. */
  readonly hostname: string;
  /** SHA256 fingerprint (`SHA256:…`) of the key the server presented. */
  readonly fingerprint: string;
  /** Fingerprint of the key on record; `''` when the presented key is marked `@revoked` or none was on record. */
  readonly expectedFingerprint: string;
  constructor(message: string, hostname: string, fingerprint: string, expectedFingerprint: string) {
    super(message, { code: 'ERR_SSH_BAD_HOST_KEY' });
    this.hostname = hostname;
    this.fingerprint = fingerprint;
    this.expectedFingerprint = expectedFingerprint;
  }
}

/** A channel could not be opened, or failed. `reasonCode` is the RFC 4254 code when the server gave one. */
export class ChannelException extends SSHException {
  /** The RFC 4254 open-failure code when a channel open failed (1 administratively prohibited, 2 connect failed, 3 unknown channel type, 4 resource shortage); 0 for other channel failures. */
  readonly reasonCode: number;
  constructor(message: string, reasonCode = 0) {
    super(message, { code: 'ERR_SSH_CHANNEL' });
    this.reasonCode = reasonCode;
  }
}

/** No address of the host could be connected to; `errors` maps each address to its failure. */
export class NoValidConnectionsError extends SSHException {
  /** Each address tried (`addr:port`, `[v6addr]:port`) to the error it failed with (Paramiko's `errors` dict); empty when `host` is an IP address of the other family than `family` asked for. */
  readonly errors: Map<string, Error>;
  constructor(message: string, errors: Map<string, Error>) {
    super(message, { code: 'ERR_SSH_NO_VALID_CONNECTIONS' });
    this.errors = errors;
  }
}

/** The ProxyCommand process failed or exited. */
export class ProxyCommandFailure extends SSHException {
  /** The ProxyCommand line, as given. */
  readonly command: string;
  constructor(message: string, command: string) {
    super(message, { code: 'ERR_SSH_PROXY_COMMAND' });
    this.command = command;
  }
}

/** An ssh_config file could not be parsed. */
export class ConfigParseError extends SSHException {
  constructor(message: string) {
    super(message, { code: 'ERR_SSH_CONFIG' });
  }
}

/** Hostname canonicalization was required by config but failed. */
export class CouldNotCanonicalize extends SSHException {
  constructor(message: string) {
    super(message, { code: 'ERR_SSH_CANONICALIZE' });
  }
}

/** An SFTP request failed; `status` is the SSH_FX_* status code. */
export class SFTPError extends SSHException {
  /** The SSH_FX_* status code (see `FX` / `FX_NAMES`), e.g. 2 for no such file. */
  readonly status: number;
  /** The path the failed request concerned, when known. */
  readonly path: string | undefined;
  constructor(message: string, status: number, path?: string, options?: { code?: string; cause?: unknown }) {
    super(message, { code: options?.code ?? 'ERR_SFTP', cause: options?.cause });
    this.status = status;
    this.path = path;
  }
}

/**
 * An SFTP transfer (get/put and friends) stopped before the end. The
 * destination holds exactly `bytesTransferred` good bytes from the start
 * (the contiguous acknowledged prefix); nothing past it is trusted.
 * `aborted` is true when the caller's signal stopped it (`cause` is
 * {@link abortError} of the signal: its reason, or an AbortError wrapping it).
 */
export class SFTPTransferError extends SFTPError {
  /** Bytes known good at the start of the destination. */
  readonly bytesTransferred: number;
  /** True when the caller's signal stopped the transfer. */
  readonly aborted: boolean;
  constructor(message: string, status: number, path: string | undefined, bytesTransferred: number, options?: { cause?: unknown; aborted?: boolean }) {
    super(message, status, path, { code: 'ERR_SFTP_TRANSFER', cause: options?.cause });
    this.bytesTransferred = bytesTransferred;
    this.aborted = options?.aborted ?? false;
  }
}

/** A wait ran past its time limit. */
export class TimeoutError extends SSHException {
  constructor(message: string) {
    super(message, { code: 'ERR_SSH_TIMEOUT' });
  }
}

/**
 * An operation was cancelled through its AbortSignal and the signal's
 * reason was not an Error: the shape of Node's own AbortError (name
 * `AbortError`, code `ABORT_ERR`, the reason as `cause`). When the reason
 * is an Error (`controller.abort()` gives a DOMException named AbortError),
 * operations reject with that reason itself; see {@link abortError}.
 * Not an SSHException: cancelling is the caller's doing, not a failure.
 */
export class AbortError extends Error {
  /** Always `ABORT_ERR`, as Node's. */
  readonly code = 'ABORT_ERR';
  constructor(message = 'The operation was aborted', options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AbortError';
  }
}

/**
 * The error an operation aborted through `signal` rejects with, everywhere
 * in sshwire: the signal's reason when it is an Error, else an
 * {@link AbortError} whose message is the reason (when a string) or
 * `message`, and whose cause is the reason.
 */
export function abortError(signal: AbortSignal, message = 'The operation was aborted'): Error {
  const r: unknown = signal.reason;
  if (r instanceof Error) return r;
  return new AbortError(typeof r === 'string' ? r : message, { cause: r });
}

/** A key file or key blob could not be parsed. */
export class KeyFormatError extends SSHException {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { code: 'ERR_SSH_KEY_FORMAT', cause: options?.cause });
  }
}

/**
 * A remote command failed: with `check`, it exited non-zero or by a signal
 * (code `ERR_SSH_PROCESS_EXIT`); the connection was lost while it ran
 * (`ERR_SSH_CONNECTION_LOST`); or reading the `stdin` stream given to it
 * failed (`ERR_SSH_STDIN`, with the stream's error as `cause`: the command
 * got end-of-file and ran to its exit, whose status is here). Carries the
 * output so far.
 */
export class ProcessError extends SSHException {
  /** The command that was run. */
  readonly command: string | null;
  /** The exit status; null when a signal ended the command or no status arrived (connection lost). */
  readonly exitStatus: number | null;
  /** The signal that ended the command, if any (`name` without `SIG`, e.g. `KILL`). */
  readonly exitSignal: { name: string; coreDumped: boolean; message: string; lang?: string } | undefined;
  /** exitStatus, or minus the signal number when killed by a signal (AsyncSSH's returncode). */
  readonly returncode: number | null;
  /** Standard output received so far: a string, or a Buffer when `encoding` was null. */
  readonly stdout: string | Buffer;
  /** Standard error received so far: a string, or a Buffer when `encoding` was null. */
  readonly stderr: string | Buffer;
  constructor(
    message: string,
    details: {
      command: string | null;
      exitStatus: number | null;
      exitSignal?: ProcessError['exitSignal'];
      returncode: number | null;
      stdout: string | Buffer;
      stderr: string | Buffer;
      code?: string;
      cause?: unknown;
    },
  ) {
    super(message, { code: details.code ?? 'ERR_SSH_PROCESS', cause: details.cause });
    this.command = details.command;
    this.exitStatus = details.exitStatus;
    this.exitSignal = details.exitSignal;
    this.returncode = details.returncode;
    this.stdout = details.stdout;
    this.stderr = details.stderr;
  }
}
