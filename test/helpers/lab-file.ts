// The lab of one test file: brought up before its tests (then `setup` runs on it), taken down
// after them, with every host client they opened. With WIFIBOX_LAB_DEBUG=1 the last lines of each
// process's log are printed before it goes.
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { Lab } from '../../lab/lab';
import type { LabOptions } from '../../lab/options';
import { HostClient } from '../../lab/host-client';

export interface LabFile {
  /** A host-side control client of `dest` (a host socat's socket), closed after the file's tests. */
  client(dest: string): HostClient;
}

export function labForFile(options: LabOptions, setup: (lab: Lab) => Promise<unknown> | void, debugLines = 40): LabFile {
  let lab: Lab | undefined;
  const clients: HostClient[] = [];
  beforeAll(async () => {
    lab = await Lab.up(options);
    await setup(lab);
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    if (!lab) return;
    if (process.env.WIFIBOX_LAB_DEBUG) console.log(lab.logTails(debugLines));
    await lab.down();
  });
  return {
    client(dest) {
      const c = new HostClient(join(lab!.dir, 'clients'), dest);
      clients.push(c);
      return c;
    },
  };
}

/** wpa_cli (or hostapd_cli) `ping` and `status` from the host namespace, through the host socat of `dir`. */
export async function pingAndStatus(lab: Lab, dir: string): Promise<{ ping: string; status: string }> {
  const ping = await lab.hostCli(['ping'], { timeoutMs: 15_000 }, dir);
  const status = await lab.hostCli(['status'], { timeoutMs: 15_000 }, dir);
  return { ping: ping.stdout.trim(), status: status.stdout };
}
