/**
 * `sshwire run HOSTS CMD`: one command on several hosts (comma-separated,
 * each `[user@]host` as for `exec`), a bounded number at once, each host's
 * output printed as a block when it finishes.
 */
import { mapHosts, type ConnectOptions } from '../client.js';
import { connectOptions, type ClientFlags } from './connectArgs.js';
import { parseTarget } from './target.js';

export interface RunManyFlags extends ClientFlags {
  concurrency?: string;
}

/** Runs `words` on every host of `hostList`; resolves with 0 when every host ran it with exit status 0, else 1. */
export async function runMany(hostList: string, words: string[], flags: RunManyFlags, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const hosts = hostList.split(',').map((h) => h.trim()).filter((h) => h !== '');
  const concurrency = flags.concurrency === undefined ? 10 : Number(flags.concurrency);
  const targets: ConnectOptions[] = hosts.map((h) => connectOptions(parseTarget(h, false), flags));
  const names = new Map<unknown, string>(targets.map((t, i) => [t, hosts[i]!]));
  const command = words.join(' ');
  let failed = 0;
  await mapHosts(targets, (conn) => conn.run(command, { encoding: null }), {
    concurrency,
    onResult: (r) => {
      const name = names.get(r.target) ?? r.host;
      if (!r.ok) {
        failed++;
        out.write(`== ${name}: failed: ${r.error!.message}\n`);
        return;
      }
      const res = r.value!;
      const status = res.exitSignal ? `signal ${res.exitSignal.name}` : `exit ${res.exitStatus ?? '?'}`;
      if (res.exitStatus !== 0) failed++;
      out.write(`== ${name} (${status})\n`);
      out.write(res.stdout as Buffer);
      if ((res.stderr as Buffer).length > 0) {
        out.write('-- stderr\n');
        out.write(res.stderr as Buffer);
      }
    },
  });
  return failed === 0 ? 0 : 1;
}
