/**
 * A private MIT Kerberos KDC for interop tests: a fresh realm database in a
 * temp dir (kdb5_util), a krb5.conf and kdc.conf of its own, and krb5kdc in
 * the foreground on 127.0.0.1 and a free port. Every MIT tool the tests run
 * (kadmin.local, kinit, klist, and sshd) gets `env`, which points
 * KRB5_CONFIG and KRB5_KDC_PROFILE into that dir, so the host's own
 * Kerberos configuration is never read or touched.
 *
 * Tests that need it skip when `kdcAvailable()` is false (CI installs
 * krb5-kdc, krb5-admin-server and krb5-user).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, stopProcess, waitForListening } from './sshd.js';

export const KRB5KDC = '/usr/sbin/krb5kdc';
export const KDB5_UTIL = '/usr/sbin/kdb5_util';
export const KADMIN_LOCAL = '/usr/sbin/kadmin.local';

/** True when MIT's KDC and database tool are installed (/usr/sbin/krb5kdc and kdb5_util). */
export function kdcAvailable(): boolean {
  return existsSync(KRB5KDC) && existsSync(KDB5_UTIL);
}

/** A running private KDC. */
export interface TestKdc {
  /** The realm, e.g. SSHWIRE.TEST. */
  realm: string;
  /** The KDC's UDP and TCP port on 127.0.0.1. */
  port: number;
  /** The temp dir holding the database, configs and log (removed by stop()). */
  dir: string;
  /** A krb5.conf naming this realm and KDC, with every DNS lookup turned off. */
  krb5ConfPath: string;
  /** KRB5_CONFIG and KRB5_KDC_PROFILE pointing into `dir`: give it to every MIT tool and to sshd. */
  env: Record<string, string>;
  /** `kadmin.local addprinc`: with `password`, that password; without, a random key (-randkey). */
  addPrincipal(name: string, password?: string): void;
  /** `kadmin.local ktadd -norandkey`: writes (appends to) the keytab at `path` with the principals' current keys. */
  exportKeytab(principals: string[], path: string): void;
  /** `kinit` with the password on stdin, into the FILE credential cache at `ccachePath`. */
  kinit(principal: string, password: string, ccachePath: string, opts?: { forwardable?: boolean }): void;
  /** Stops the KDC and removes `dir`. */
  stop(): Promise<void>;
}

/** Options for {@link startKdc}. */
export interface StartKdcOptions {
  /** Default SSHWIRE.TEST. */
  realm?: string;
  /** kdc.conf supported_enctypes (the key types new principals get), e.g. ['aes256-cts-hmac-sha1-96:normal']. */
  enctypes?: string[];
}

/**
 * Creates a realm database in a fresh temp dir and starts `krb5kdc -n` on
 * it. Call `stop()` when done (also on failure paths: afterAll).
 */
export async function startKdc(opts: StartKdcOptions = {}): Promise<TestKdc> {
  if (!kdcAvailable()) throw new Error(`${KRB5KDC} or ${KDB5_UTIL} is missing: install krb5-kdc and krb5-admin-server`);
  const realm = opts.realm ?? 'SSHWIRE.TEST';
  const dir = mkdtempSync(join(tmpdir(), 'sshwire-kdc-'));
  let proc: ChildProcess | undefined;
  try {
    const port = await freePort();
    const krb5ConfPath = join(dir, 'krb5.conf');
    const kdcConfPath = join(dir, 'kdc.conf');
    const logFile = join(dir, 'kdc.log');
    writeFileSync(
      krb5ConfPath,
      [
        '[libdefaults]',
        `  default_realm = ${realm}`,
        '  dns_lookup_kdc = false',
        '  dns_lookup_realm = false',
        '  rdns = false',
        '  dns_canonicalize_hostname = false',
        '',
        '[realms]',
        `  ${realm} = {`,
        `    kdc = 127.0.0.1:${port}`,
        '  }',
        '',
        '[domain_realm]',
        `  localhost = ${realm}`,
        '',
        '[logging]',
        `  kdc = FILE:${logFile}`,
        `  default = FILE:${logFile}`,
        '',
      ].join('\n'),
    );
    const realmLines = [
      `    database_name = ${join(dir, 'principal')}`,
      `    key_stash_file = ${join(dir, 'stash')}`,
      `    acl_file = ${join(dir, 'kadm5.acl')}`,
      `    admin_keytab = ${join(dir, 'kadm5.keytab')}`,
      `    kdc_ports = ${port}`,
      `    kdc_tcp_ports = ${port}`,
      `    kdc_listen = 127.0.0.1:${port}`,
      `    kdc_tcp_listen = 127.0.0.1:${port}`,
      '    max_life = 10h 0m 0s',
      '    max_renewable_life = 7d 0h 0m 0s',
      // As most real realms: kinit must pre-authenticate (an encrypted timestamp) before the KDC answers.
      '    default_principal_flags = +preauth',
    ];
    if (opts.enctypes?.length) realmLines.push(`    supported_enctypes = ${opts.enctypes.join(' ')}`);
    writeFileSync(
      kdcConfPath,
      [
        '[kdcdefaults]',
        `  kdc_ports = ${port}`,
        `  kdc_tcp_ports = ${port}`,
        `  kdc_listen = 127.0.0.1:${port}`,
        `  kdc_tcp_listen = 127.0.0.1:${port}`,
        '',
        '[realms]',
        `  ${realm} = {`,
        ...realmLines,
        '  }',
        '',
        '[logging]',
        `  kdc = FILE:${logFile}`,
        '',
      ].join('\n'),
    );
    writeFileSync(join(dir, 'kadm5.acl'), '');
    const env: Record<string, string> = { KRB5_CONFIG: krb5ConfPath, KRB5_KDC_PROFILE: kdcConfPath };
    const toolEnv = (): NodeJS.ProcessEnv => ({ ...process.env, ...env });
    /** Runs an MIT tool; a failure carries its stderr. */
    const tool = (file: string, args: string[], input?: string): string => {
      try {
        return execFileSync(file, args, { env: toolEnv(), input: input ?? '', stdio: 'pipe', encoding: 'utf8', timeout: 30_000 });
      } catch (e) {
        const err = e as { stderr?: string; stdout?: string; message: string };
        throw new Error(`${file} ${args.join(' ')} failed: ${(err.stderr || err.stdout || err.message).trim()}`, { cause: e });
      }
    };
    /**
     * Runs one kadmin.local query. kadmin.local -q exits 0 even when the
     * query fails (it only reports on stderr), so any stderr line other than
     * the harmless "No policy specified" notice counts as a failure.
     */
    const kadmin = (query: string): void => {
      const shown = query.replace(/-pw \S+/, '-pw ***');
      let stderrText: string;
      try {
        const r = spawnSync(KADMIN_LOCAL, ['-r', realm, '-q', query], { env: toolEnv(), encoding: 'utf8', timeout: 30_000 });
        if (r.error) throw r.error;
        stderrText = r.stderr ?? '';
        if (r.status !== 0) throw new Error(stderrText.trim() || `exit status ${r.status ?? r.signal}`);
      } catch (e) {
        throw new Error(`kadmin.local -q "${shown}" failed: ${(e as Error).message}`, { cause: e });
      }
      const complaints = stderrText.split('\n').filter((l) => l.trim() !== '' && !/^(WARNING: )?no policy specified/i.test(l));
      if (complaints.length > 0) throw new Error(`kadmin.local -q "${shown}" failed: ${complaints.join('; ')}`);
    };

    tool(KDB5_UTIL, ['-r', realm, 'create', '-s', '-P', randomBytes(18).toString('base64url')]);

    const chunks: Buffer[] = [];
    proc = spawn(KRB5KDC, ['-n', '-r', realm], { env: toolEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.on('data', (c: Buffer) => chunks.push(c));
    proc.stderr!.on('data', (c: Buffer) => chunks.push(c));
    // krb5kdc reports most start-up failures (e.g. a port it cannot bind) only in its log file.
    const stderr = (): string => {
      let log = '';
      try {
        log = readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n');
      } catch {
        // no log yet
      }
      return `${Buffer.concat(chunks).toString('utf8')}${log ? `\n--- ${logFile} ---\n${log}` : ''}`;
    };
    await waitForListening(port, proc, 'krb5kdc', 10_000, stderr);
    const kdcProc = proc;

    return {
      realm,
      port,
      dir,
      krb5ConfPath,
      env,
      addPrincipal(name, password) {
        // kadmin.local's -q takes one string it splits itself; names here are simple (no spaces).
        kadmin(password === undefined ? `addprinc -randkey ${name}` : `addprinc -pw ${password} ${name}`);
      },
      exportKeytab(principals, path) {
        kadmin(`ktadd -k ${path} -norandkey ${principals.join(' ')}`);
      },
      kinit(principal, password, ccachePath, o) {
        const args = ['-c', `FILE:${ccachePath}`];
        if (o?.forwardable) args.push('-f');
        args.push(principal);
        tool('kinit', args, `${password}\n`);
      },
      async stop() {
        await stopProcess(kdcProc);
        if (!process.env.SSHWIRE_KEEP_KDC) rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    if (proc) await stopProcess(proc);
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
