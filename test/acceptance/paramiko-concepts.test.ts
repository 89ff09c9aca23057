/**
 * "Every Paramiko concept has a home": each class of the Paramiko API pages
 * (seeds 001/002) is reachable from the package root under its TypeScript
 * name, and the ones users build themselves (SSHConfig, HostKeys,
 * ProxyCommand) work when imported from there.
 */
import { describe, expect, it } from 'vitest';
import * as api from '../../ts/index.js';

/** Paramiko name → sshwire's export (a class or function). */
const CONCEPTS: Record<string, string> = {
  SSHClient: 'SSHClient',
  AutoAddPolicy: 'AutoAddPolicy',
  RejectPolicy: 'RejectPolicy',
  WarningPolicy: 'WarningPolicy',
  MissingHostKeyPolicy: 'MissingHostKeyPolicy',
  Transport: 'ClientTransport',
  Channel: 'Channel',
  'Channel (exec)': 'SSHClientProcess',
  PKey: 'PKey',
  RSAKey: 'PrivateKey',
  ECDSAKey: 'PrivateKey',
  Ed25519Key: 'PrivateKey',
  DSSKey: 'PrivateKey',
  PublicBlob: 'PublicKey',
  Agent: 'Agent',
  AgentKey: 'AgentKey',
  AgentRequestHandler: 'AgentRequestHandler',
  HostKeys: 'HostKeys',
  HostKeyEntry: 'HostKeyEntry',
  SSHConfig: 'SSHConfig',
  SSHConfigDict: 'SSHConfigDict',
  ProxyCommand: 'ProxyCommand',
  Message: 'SSHWriter',
  'Message (reading)': 'SSHReader',
  ServerInterface: 'listen',
  InteractiveQuery: 'InteractiveQuery',
  SFTPClient: 'SFTPClient',
  SFTPFile: 'SFTPFile',
  SFTPAttributes: 'SFTPAttributes',
  SFTPServer: 'SFTPServerSession',
  SFTPServerInterface: 'LocalFilesystem',
  SSHException: 'SSHException',
  AuthenticationException: 'AuthenticationException',
  BadHostKeyException: 'BadHostKeyException',
  PasswordRequiredException: 'PasswordRequiredException',
  ChannelException: 'ChannelException',
  ProxyCommandFailure: 'ProxyCommandFailure',
};

describe('Paramiko concepts from the package root', () => {
  it('each has an export', () => {
    const exported = api as unknown as Record<string, unknown>;
    const missing = Object.entries(CONCEPTS).filter(([, ours]) => typeof exported[ours] !== 'function');
    expect(missing).toEqual([]);
  });

  it('SSHConfig, HostKeys and the SFTP status codes work as imported from the root', () => {
    const cfg = api.SSHConfig.fromText('Host web\n  HostName 192.0.2.7\n  Port 2222\n  User deploy\n');
    const d = cfg.lookupSync('web');
    expect([d.get('hostname'), d.asInt('port'), d.get('user')]).toEqual(['192.0.2.7', 2222, 'deploy']);
    expect(cfg.getHostnames()).toContain('web');
    const key = api.PrivateKey.generate('ed25519');
    const hk = new api.HostKeys();
    hk.add('[example.com]:2222', key.keyType, key.publicKey);
    expect(hk.lookup(api.knownHostsName('example.com', 2222))?.get(key.keyType)?.equals(key)).toBe(true);
    expect(api.HostKeyEntry.fromLine(`example.org ${key.publicKey.toString()}`)?.key.fingerprint).toBe(key.fingerprint);
    expect(api.FX.NO_SUCH_FILE).toBe(2);
    const payload = new api.SSHWriter().string('tcpip-forward').uint32(22).toBytes();
    const rd = new api.SSHReader(payload, 'test');
    expect([rd.utf8(), rd.uint32()]).toEqual(['tcpip-forward', 22]);
    expect(api.FX_NAMES[api.FX.PERMISSION_DENIED]).toBe('Permission denied');
  });
});
