/**
 * ssh_config support: parse OpenSSH client configuration, look up the
 * effective settings for a host, and run ProxyCommand / parse ProxyJump.
 */
export { SSHConfig, type LookupOptions, type ParseOptions } from './sshConfig.js';
export { SSHConfigDict, DEFAULT_SSH_PORT } from './configDict.js';
export { ConfigSyntaxError, type SourceLocation } from './syntaxError.js';
export { ProxyCommand, ProxyCommandExitError, type ProxyCommandOptions, type ProxyCommandExit } from './proxyCommand.js';
export { parseProxyJump, type ProxyJumpHop } from './proxyJump.js';
export { systemResolver, type HostResolver, DEFAULT_DNS_TIMEOUT_MS } from './canonicalize.js';
export { DEFAULT_EXEC_TIMEOUT_MS } from './matchExec.js';
export { MAX_INCLUDE_DEPTH } from './parser.js';
export { matchPattern, matchPatternList } from './pattern.js';
