/**
 * X11 forwarding (`x11Forwarding`, like `ssh -X`) through a private sshd
 * to a private Xvfb: a real X client (`xdpyinfo`) in the session reaches
 * the local display through sshd's proxy display. The client presents the
 * fake cookie sshd stored for it; we swap in the real one. An X client
 * without the fake cookie is cut off before it reaches the display.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelException, connect } from '../../ts/index.js';
import { makeKey } from '../auth/system.js';
import { makeTempDir } from '../keys/helpers.js';
import { rootLogin, startSshdTrusting, type Sshd } from '../helpers/sshd.js';
import { startXvfb, type Xvfb } from '../helpers/xvfb.js';

let tmp: { dir: string; cleanup: () => void };
let key: string;
let sshd: Sshd;
let noX11: Sshd;
let xvfb: Xvfb;

beforeAll(async () => {
  tmp = makeTempDir('sshwire-client-x11-');
  key = makeKey(tmp.dir, 'login', 'ed25519');
  xvfb = await startXvfb();
  // sshd stores the fake cookie with xauth; keep it out of root's home.
  const remoteAuth = join(tmp.dir, 'remote.Xauthority');
  sshd = await startSshdTrusting(key, {
    overrides: [`SetEnv SHLVL=1 XAUTHORITY=${remoteAuth}`],
    config: ['X11Forwarding yes', 'X11UseLocalhost yes', 'XAuthLocation /usr/bin/xauth'],
  });
  noX11 = await startSshdTrusting(key, { config: ['X11Forwarding no'] });
}, 60_000);

afterAll(async () => {
  await sshd?.stop();
  await noX11?.stop();
  await xvfb?.stop();
  tmp?.cleanup();
});

const x11 = () => ({ x11Display: xvfb.display, x11AuthPath: xvfb.authPath });

describe('X11 forwarding through sshd', () => {
  it('xdpyinfo in the session talks to the local Xvfb', async () => {
    await using c = await connect(rootLogin(sshd, key, { ...x11(), x11Forwarding: true }));
    const r = await c.run('echo "DISPLAY=$DISPLAY"; xdpyinfo | grep -E "vendor string|dimensions"');
    expect(r.exitStatus, r.stderr as string).toBe(0);
    expect(r.stdout).toMatch(/^DISPLAY=localhost:\d+\.0$/m);
    expect(r.stdout).toMatch(/vendor string:\s+The X\.Org Foundation/);
    expect(r.stdout).toMatch(/dimensions:\s+640x480 pixels/);
    // Several X connections at once over the one SSH connection.
    const many = await Promise.all([1, 2, 3].map(() => c.run('xdpyinfo -queryExtensions | grep -c "opcode"')));
    for (const m of many) expect(m.exitStatus, m.stderr as string).toBe(0);
  });

  it('an X client without the fake cookie never reaches the display', async () => {
    await using c = await connect(rootLogin(sshd, key, { ...x11(), x11Forwarding: true }));
    const r = await c.run('XAUTHORITY=/dev/null xdpyinfo');
    expect(r.exitStatus).not.toBe(0);
    expect(r.stderr).toMatch(/unable to open display/);
    // A session that did not ask has no display at all.
    const plain = await c.run('echo "[$DISPLAY]"', { x11Forwarding: false });
    expect(plain.stdout).toBe('[]\n');
  });

  it('ssh_config ForwardX11 yes turns it on for every call, failures ignored', async () => {
    const cfg = join(tmp.dir, 'config-x11');
    writeFileSync(cfg, 'Host *\n  ForwardX11 yes\n');
    {
      await using c = await connect(rootLogin(sshd, key, { ...x11(), config: cfg }));
      const r = await c.run('xdpyinfo | grep -c "vendor string"');
      expect(r.stdout, r.stderr as string).toBe('1\n');
    }
    await using c = await connect(rootLogin(noX11, key, { ...x11(), config: cfg }));
    expect((await c.run('echo "[$DISPLAY]"')).stdout).toBe('[]\n');
  });

  it('a refusal fails the start, unless ignoreFailure', async () => {
    await using c = await connect(rootLogin(noX11, key, x11()));
    await expect(c.run('true', { x11Forwarding: true })).rejects.toBeInstanceOf(ChannelException);
    const r = await c.run('echo "[$DISPLAY]"', { x11Forwarding: 'ignoreFailure' });
    expect(r.stdout).toBe('[]\n');
  });

  it('without a display it is a clear option error', async () => {
    const saved = process.env.DISPLAY;
    delete process.env.DISPLAY;
    try {
      await using c = await connect(rootLogin(sshd, key, { x11Forwarding: true }));
      await expect(c.run('true')).rejects.toMatchObject({ code: 'ERR_SSH_BAD_OPTION', message: expect.stringMatching(/DISPLAY/) });
      // 'ignoreFailure' (what ForwardX11 in ssh_config means) runs without, as ssh does.
      const r = await c.run('echo "[$DISPLAY]"', { x11Forwarding: 'ignoreFailure' });
      expect(r.stdout).toBe('[]\n');
    } finally {
      if (saved !== undefined) process.env.DISPLAY = saved;
    }
  });
});
