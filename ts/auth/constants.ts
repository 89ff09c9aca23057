/**
 * Names and numbers of user authentication (RFC 4252, RFC 4256).
 */

/** The service user authentication runs in, and the one it unlocks. */
export const USERAUTH_SERVICE = 'ssh-userauth';
export const CONNECTION_SERVICE = 'ssh-connection';

/** Method names as they appear on the wire. */
export type AuthMethod = 'none' | 'password' | 'publickey' | 'keyboard-interactive' | (string & {});

/**
 * What a server policy callback answers (Paramiko's values): the method
 * succeeded, failed, or succeeded but the server wants more methods
 * (RFC 4252 section 5.1, partial success).
 */
export const AUTH_SUCCESSFUL = 0;
/** The method succeeded but more are required: the client gets USERAUTH_FAILURE with partial success and the methods now allowed (`getAllowedAuths` is asked again). */
export const AUTH_PARTIALLY_SUCCESSFUL = 1;
/** The attempt failed; failed attempts count toward `maxAuthTries`. */
export const AUTH_FAILED = 2;

/** One of AUTH_SUCCESSFUL, AUTH_PARTIALLY_SUCCESSFUL, AUTH_FAILED. */
export type AuthResult = typeof AUTH_SUCCESSFUL | typeof AUTH_PARTIALLY_SUCCESSFUL | typeof AUTH_FAILED;

/** Bounds on what either side reads from the wire during authentication. */
export const LIMITS = {
  /** User names, service and method names. */
  name: 1024,
  /** A password or a keyboard-interactive answer. */
  secret: 8192,
  /** Banner and prompt text, instructions. */
  text: 64 * 1024,
  /** A public key blob or signature blob (RSA-16384 fits easily). */
  blob: 16 * 1024,
  /** Prompts in one keyboard-interactive request (OpenSSH allows 100). */
  prompts: 100,
  /** A GSS-API token or MIC (a Kerberos AP-REQ with a large PAC stays far below). */
  gssToken: 64 * 1024,
  /** Mechanism OIDs offered in one gssapi-with-mic request. */
  gssMechanisms: 16,
  /** Messages queued while nobody waits: a server flooding banners gets a protocol error. */
  inbox: 64,
} as const;
