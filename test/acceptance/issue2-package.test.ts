/**
 * Issue 2 acceptance, part 1: the package itself. Layout, the public names
 * of /work/shared/API.md from the source entry point AND from the built
 * package through its `exports` map (`require('sshwire')` and
 * `import 'sshwire'` in child processes), the README's first screen,
 * `.ci/run`, and the reproducible, self-contained wasm core.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as api from '../../ts/index.js';

const ROOT = join(import.meta.dirname, '..', '..');
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');

/** The error classes the API contract lists (parsed from its "Errors" section, so a name added there is checked too). */
function contractErrorNames(): string[] {
  const apiDoc = [join(ROOT, '..', 'shared', 'API.md'), '/work/shared/API.md'].find((p) => existsSync(p));
  const fallback = ['SSHException', 'AuthenticationException', 'BadAuthenticationType', 'PartialAuthentication', 'PasswordRequiredException', 'BadHostKeyException', 'ChannelException', 'NoValidConnectionsError', 'ProxyCommandFailure', 'ConfigParseError', 'CouldNotCanonicalize', 'SFTPError', 'TimeoutError'];
  if (!apiDoc) return fallback;
  const text = readFileSync(apiDoc, 'utf8');
  const section = text.split(/^## Errors.*$/m)[1]?.split(/^## /m)[0] ?? '';
  const names = [...section.matchAll(/`([A-Z][A-Za-z]+)`/g)].map((m) => m[1]!);
  return names.length >= fallback.length ? names : fallback;
}

/** Every runtime name the contract promises from the package root. */
const CONTRACT_VALUES = ['connect', 'SSHClient', 'AutoAddPolicy', 'RejectPolicy', 'WarningPolicy', 'MissingHostKeyPolicy', 'listen', 'getBackendInfo', 'SFTPClient', ...contractErrorNames()];

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds dist/ with `npm run build` when it is missing or older than the sources (CI builds it right before the tests). */
function ensureBuilt(): void {
  const marker = join(ROOT, 'dist', 'index.cjs');
  const sources = Math.max(newestMtime(join(ROOT, 'ts')), statSync(join(ROOT, 'rollup.config.mjs')).mtimeMs, statSync(join(ROOT, 'package.json')).mtimeMs);
  const fresh = ['index.cjs', 'index.mjs', 'index.d.ts', 'index.d.cts'].every((f) => existsSync(join(ROOT, 'dist', f)) && statSync(join(ROOT, 'dist', f)).mtimeMs >= sources);
  if (!existsSync(marker) || !fresh) execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'pipe', timeout: 180_000 });
}

/** Runs node in the package root (so 'sshwire' resolves to this package through its exports map) and parses its JSON output. */
function nodeJson(args: string[]): { names: string[]; types: Record<string, string>; wasm: boolean; forced: unknown } {
  const out = execFileSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', timeout: 30_000, env: { ...process.env, SSHWIRE_BACKEND: '', NODE_OPTIONS: '' } });
  return JSON.parse(out.trim().split('\n').pop()!);
}

const PROBE = `const names = Object.keys(m).sort(); const types = {}; for (const n of names) types[n] = typeof m[n];
const info = m.getBackendInfo(); console.log(JSON.stringify({ names, types, wasm: info.available.wasm.available, forced: info.forced }));`;

describe('issue 2.1: the package', () => {
  it('package.json, tsconfig.json, Cargo.toml and the folders are laid out as promised', () => {
    const pkg = JSON.parse(read('package.json'));
    expect(pkg.name).toBe('sshwire');
    expect(pkg.type).toBe('module');
    expect(pkg.exports['.'].import.default).toBe('./dist/index.mjs');
    expect(pkg.exports['.'].import.types).toBe('./dist/index.d.ts');
    expect(pkg.exports['.'].require.default).toBe('./dist/index.cjs');
    expect(pkg.exports['.'].require.types).toBe('./dist/index.d.cts');
    expect(pkg.scripts.build).toMatch(/rollup/);
    expect(pkg.scripts['build:wasm']).toMatch(/scripts\/build-wasm\.sh/);
    expect(pkg.scripts['bench:crypto']).toBeTruthy();
    expect(pkg.scripts.fuzz).toBeTruthy();
    expect(pkg.devDependencies.vitest).toMatch(/^\^?4\./);
    expect(pkg.devDependencies['libsodium-wrappers-sumo']).toBeTruthy();
    for (const dep of ['@noble/ciphers', '@noble/hashes', '@noble/curves']) expect(pkg.dependencies[dep], dep).toBeTruthy();
    expect(pkg.files).toEqual(expect.arrayContaining(['dist', 'wasm']));
    const tsconfig = JSON.parse(read('tsconfig.json').replace(/^\s*\/\/.*$/gm, ''));
    expect(tsconfig.compilerOptions.strict).toBe(true);
    const cargo = read('Cargo.toml');
    expect(cargo).toMatch(/\[workspace\][^[]*members\s*=\s*\["rust-core"\]/);
    for (const dir of ['ts', 'rust-core', 'wasm', 'scripts', 'test', '.ci']) expect(existsSync(join(ROOT, dir)), dir).toBe(true);
  });

  it('ts/index.ts exports every runtime name of the API contract', () => {
    const exported = api as unknown as Record<string, unknown>;
    const missing = CONTRACT_VALUES.filter((n) => exported[n] === undefined);
    expect(missing).toEqual([]);
    for (const n of contractErrorNames()) {
      const E = exported[n] as new (m: string) => Error;
      expect(typeof E, n).toBe('function');
      const e = new E('x');
      expect(e, n).toBeInstanceOf(Error);
      expect(e, n).toBeInstanceOf(api.SSHException);
    }
  });

  it('the build output works through the exports map: require("sshwire") and import "sshwire" give the same names, with types', () => {
    ensureBuilt();
    const cjs = nodeJson(['-e', `const m = require('sshwire');\n${PROBE}`]);
    const esm = nodeJson(['--input-type=module', '-e', `import * as m from 'sshwire';\n${PROBE}`]);
    expect(CONTRACT_VALUES.filter((n) => !cjs.names.includes(n))).toEqual([]);
    expect(esm.names).toEqual(cjs.names);
    expect(esm.types).toEqual(cjs.types);
    expect(cjs.types.connect).toBe('function');
    // The built package finds the committed wasm core from dist/.
    expect(cjs.wasm).toBe(true);
    expect(esm.wasm).toBe(true);
    expect(cjs.forced).toBeNull();
    for (const dts of ['dist/index.d.ts', 'dist/index.d.cts']) {
      const text = read(dts);
      for (const n of ['connect', 'SSHClient', 'listen', 'getBackendInfo', 'ConnectOptions', 'BackendInfo']) expect(text, `${dts} ${n}`).toMatch(new RegExp(`\\b${n}\\b`));
    }
  });
});

describe('issue 2.2: README first screen', () => {
  it('says what sshwire is, then gives npm install and npm test (and npm start) before anything else', () => {
    const readme = read('README.md');
    const firstBlock = readme.indexOf('```');
    const intro = readme.slice(0, firstBlock);
    expect(intro).toMatch(/^# sshwire/);
    expect(intro).toMatch(/SSH/);
    const block = readme.slice(firstBlock, readme.indexOf('```', firstBlock + 3));
    const commands = block.split('\n').slice(1).map((l) => l.replace(/#.*$/, '').trim()).filter(Boolean);
    expect(commands).toEqual(['npm install', 'npm start', 'npm test']);
    // Nothing but the intro precedes those commands: no second heading.
    expect(intro.match(/^#{1,6} /gm)).toHaveLength(1);
  });
});

describe('issue 2.3 and 2.9: reproducible wasm core and .ci/run', () => {
  it('the committed .wasm matches its .sha256 file', () => {
    const bytes = readFileSync(join(ROOT, 'wasm', 'sshwire_core.wasm'));
    const recorded = read('wasm/sshwire_core.wasm.sha256').trim().split(/\s+/)[0];
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(recorded);
  });

  it('scripts/build-wasm.sh --check rebuilds rust-core offline with Debian Rust and gets the committed bytes', () => {
    const script = read('scripts/build-wasm.sh');
    expect(script).toMatch(/\/usr\/bin\/cargo/);
    expect(script).toMatch(/\/usr\/share\/cargo\/registry/);
    expect(script).toMatch(/wasm32-unknown-unknown/);
    expect(script).toMatch(/\+simd128/);
    expect(script).toMatch(/--offline/);
    const profile = read('Cargo.toml').split('[profile.release]')[1]!.split(/^\[/m)[0]!;
    for (const line of [/lto\s*=\s*true/, /codegen-units\s*=\s*1/, /panic\s*=\s*"abort"/, /strip\s*=\s*true/]) expect(profile).toMatch(line);
    const out = execFileSync('bash', [join(ROOT, 'scripts', 'build-wasm.sh'), '--check'], { cwd: ROOT, encoding: 'utf8', timeout: 240_000, stdio: 'pipe' });
    expect(out).toMatch(/matches a fresh build/);
  });

  it('.ci/run installs the system packages, runs npm ci, the wasm check and the README test command', () => {
    const ci = read('.ci/run');
    expect(statSync(join(ROOT, '.ci', 'run')).mode & 0o111).not.toBe(0);
    expect(ci).toMatch(/^#!\/usr\/bin\/env bash/);
    expect(ci).toMatch(/set -euo pipefail/);
    for (const pkgName of ['rustc', 'cargo', 'libstd-rust-dev-wasm32', 'openssh-server', 'openssh-client']) expect(ci).toMatch(new RegExp(`apt-get install[^\\n]*(\\\\\\n[^\\n]*)*\\b${pkgName}\\b`));
    expect(ci).toMatch(/^npm ci\b/m);
    expect(ci).toMatch(/^npm run check:wasm$/m);
    expect(ci).toMatch(/^npm test$/m);
    // The check runs before the tests, so a stale .wasm fails fast.
    expect(ci.indexOf('check:wasm')).toBeLessThan(ci.lastIndexOf('npm test'));
  });
});

describe('issue 2.4: rust-core', () => {
  it('is no_std without wasm-bindgen, and the .wasm imports nothing and exports exactly the raw C surface of ABI.md', () => {
    expect(read('rust-core/src/lib.rs')).toMatch(/^#!\[cfg_attr\(not\(test\), no_std\)\]$|^#!\[no_std\]$/m);
    const cargo = read('rust-core/Cargo.toml');
    expect(cargo).not.toMatch(/wasm-bindgen/);
    expect(cargo.split('[dependencies]')[1]!.trim()).toBe('');
    const module = new WebAssembly.Module(readFileSync(join(ROOT, 'wasm', 'sshwire_core.wasm')));
    // The static reflection functions, which this TypeScript lib does not declare.
    const reflect = WebAssembly.Module as unknown as { imports(m: WebAssembly.Module): unknown[]; exports(m: WebAssembly.Module): { name: string }[] };
    expect(reflect.imports(module)).toEqual([]);
    const exported = new Set<string>(reflect.exports(module).map((e) => e.name));
    const documented = [...new Set([...read('rust-core/ABI.md').matchAll(/\bsw_[a-z0-9_]+/g)].map((m) => m[0]))];
    expect(documented.filter((n) => !exported.has(n))).toEqual([]);
    // The batch entry points: one boundary crossing per batch of packets.
    for (const n of ['sw_chachapoly_seal_batch', 'sw_chachapoly_open_batch', 'sw_poly1305', 'sw_chacha20']) expect(exported.has(n), n).toBe(true);
    const undocumented = [...exported].filter((n) => n.startsWith('sw_') && !documented.includes(n));
    expect(undocumented).toEqual([]);
  });
});
