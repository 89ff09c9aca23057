/**
 * X11 forwarding, server side: when checkChannelX11Request grants a
 * session's x11-req, programs in that session reach the client's X display
 * through a proxy display on 127.0.0.1 (DISPLAY and XAUTHORITY for spawned
 * commands). Clients: OpenSSH `ssh -X` / `-Y`, AsyncSSH's x11_forwarding,
 * and ours; the display is a private Xvfb and the X client a real
 * `xdpyinfo`.
 */
import { existsSync } from 'node:fs';
import * as net from 'node:net';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../ts/index.js';
import { ownServerLogin } from '../helpers/ownServer.js';
import { startXvfb, type Xvfb } from '../helpers/xvfb.js';
import { makeFixture, python, ssh, startServer, type Fixture, type Running } from './helpers.js';

let fx: Fixture;
let xvfb: Xvfb;

beforeAll(async () => {
  fx = makeFixture('sshwire-server-x11-');
  xvfb = await startXvfb();
}, 60_000);

afterAll(async () => {
  await xvfb?.stop();
  fx?.cleanup();
});

/** A server running commands locally that grants X11 forwarding when `grant` says so. */
function spawningServer(grant: boolean): Promise<Running> {
  return startServer(fx, {
    authorizedClientKeys: fx.authorizedKeys,
    spawnCommands: { cwd: fx.root },
    server: { checkChannelX11Request: () => grant },
  });
}

const withDisplay = (): NodeJS.ProcessEnv => ({ ...process.env, DISPLAY: xvfb.display, XAUTHORITY: xvfb.authPath, SSH_AUTH_SOCK: '' });
const PROBE = 'echo "DISPLAY=$DISPLAY"; xdpyinfo | grep -E "vendor string|dimensions"; stat -c "mode %a" "$(dirname "$XAUTHORITY")"; echo "XAUTHORITY=$XAUTHORITY"';

describe('OpenSSH ssh against our server', () => {
  it('-X and -Y: xdpyinfo in a spawned command reaches the local display; the cookie file is private and goes away', async () => {
    const r = await spawningServer(true);
    try {
      for (const flag of ['-X', '-Y']) {
        const out = await ssh(fx, r, [flag, PROBE], { env: withDisplay() });
        expect(out.code, out.stderr).toBe(0);
        expect(out.stdout).toMatch(/^DISPLAY=localhost:\d+\.0$/m);
        expect(out.stdout).toMatch(/vendor string:\s+The X\.Org Foundation/);
        expect(out.stdout).toMatch(/dimensions:\s+640x480 pixels/);
        expect(out.stdout).toContain('mode 700');
        const auth = /XAUTHORITY=(\S+)/.exec(out.stdout)![1]!;
        await expect.poll(() => existsSync(dirname(auth)), { timeout: 5000 }).toBe(false);
      }
    } finally {
      await r.server.close();
    }
  });

  it('no display without -X, and none when the policy refuses', async () => {
    const granting = await spawningServer(true);
    try {
      const without = await ssh(fx, granting, ['echo "[$DISPLAY]"'], { env: withDisplay() });
      expect(without.stdout).toBe('[]\n');
    } finally {
      await granting.server.close();
    }
    const refusing = await spawningServer(false);
    try {
      const refused = await ssh(fx, refusing, ['-X', 'echo "[$DISPLAY]"'], { env: withDisplay() });
      expect(refused.code, refused.stderr).toBe(0);
      expect(refused.stdout).toBe('[]\n');
    } finally {
      await refusing.server.close();
    }
  });
});

describe('our client and AsyncSSH against our server', () => {
  it('connect({ x11Forwarding }): xdpyinfo works; with x11SingleConnection only the first X client gets through', async () => {
    const r = await spawningServer(true);
    try {
      {
        await using c = await connect(ownServerLogin(r.port, { clientKeys: [fx.key], x11Forwarding: true, x11Display: xvfb.display, x11AuthPath: xvfb.authPath }));
        const out = await c.run('xdpyinfo | grep "vendor string" && xdpyinfo | grep -c "vendor string"');
        expect(out.exitStatus, out.stderr as string).toBe(0);
        expect(out.stdout).toMatch(/The X\.Org Foundation\n1\n$/);
      }
      {
        await using c = await connect(ownServerLogin(r.port, { clientKeys: [fx.key], x11Forwarding: true, x11SingleConnection: true, x11Display: xvfb.display, x11AuthPath: xvfb.authPath }));
        const out = await c.run('xdpyinfo > /dev/null && echo first ok; xdpyinfo > /dev/null || echo second refused');
        expect(out.stdout).toBe('first ok\nsecond refused\n');
      }
    } finally {
      await r.server.close();
    }
  });

  it('a display port taken on ::1 by someone else is skipped, so `localhost` never reaches their display', async () => {
    // Hold [::1]:6010..6039 wherever free; a blocker drops whatever connects.
    const blockers: net.Server[] = [];
    for (let n = 10; n < 40; n++) {
      const b = net.createServer((sock) => sock.destroy());
      const ok = await new Promise<boolean>((resolve) => {
        b.once('error', () => resolve(false));
        b.listen({ host: '::1', port: 6000 + n, ipv6Only: true }, () => resolve(true));
      });
      if (ok) blockers.push(b);
    }
    const r = await spawningServer(true);
    try {
      expect(blockers.length).toBeGreaterThan(0);
      await using c = await connect(ownServerLogin(r.port, { clientKeys: [fx.key], x11Forwarding: true, x11Display: xvfb.display, x11AuthPath: xvfb.authPath }));
      const out = await c.run('echo "$DISPLAY"; xdpyinfo | grep -c "vendor string"');
      expect(out.exitStatus, out.stderr as string).toBe(0);
      const [display, count] = String(out.stdout).trim().split('\n');
      const taken = blockers.map((b) => (b.address() as net.AddressInfo).port - 6000);
      expect(taken).not.toContain(Number(/^localhost:(\d+)\.0$/.exec(display!)![1]));
      expect(count).toBe('1');
    } finally {
      await r.server.close();
      for (const b of blockers) b.close();
    }
  });

  it('AsyncSSH with x11_forwarding=True', async () => {
    const r = await spawningServer(true);
    try {
      const code = `
import sys, asyncio, asyncssh
async def main():
    async with asyncssh.connect('127.0.0.1', port=int(sys.argv[1]), username='tester', client_keys=[sys.argv[2]], known_hosts=sys.argv[3],
                                agent_path=None, x11_forwarding=True, x11_display=sys.argv[4], x11_auth_path=sys.argv[5]) as conn:
        r = await conn.run('xdpyinfo | grep "vendor string"')
        print(r.stdout, 'status', r.exit_status)
asyncio.run(main())
`;
      const out = await python(code, [String(r.port), fx.key, r.knownHosts, xvfb.display, xvfb.authPath]);
      expect(out.code, out.stderr).toBe(0);
      expect(out.stdout).toMatch(/The X\.Org Foundation/);
      expect(out.stdout).toContain('status 0');
    } finally {
      await r.server.close();
    }
  });
});
