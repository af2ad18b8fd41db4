// The cases of the fault suite (test/lab/faults.test.ts), one fault each: the faults that leave
// the agents running come from lab/faults.ts (the soak repeats them), the others are here.
// `check` asserts what a case adds to the common checks, and reports figures.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { daemonFault, INIT_ARGS, outage, RESPAWN_INIT_MS, wirelessDhcp, type Fault, type FaultContext, type FaultTimes } from '../../lab/faults';
import { HostClient } from '../../lab/host-client';
import { sleep, waitFor } from '../../lab/proc';
import { daemonStatus, initStatus, passthruStatus, portOf } from '../../lab/status';
import { WIRELESS_DOMAIN, WIRELESS_NAME } from '../../lab/wireless';

export interface FaultCase extends Fault {
  check?(c: FaultContext, t: FaultTimes): Promise<Record<string, number | string>>;
}

/**
 * Recovery must happen; how fast is the benchmark's to say: npm run reliability (which sets
 * WIFIBOX_RELIABILITY_OUT) holds each case to its stated bound, and its table reports the time. A
 * test run on a loaded machine (a fresh clone, a CPU hog beside it) gets room for that load.
 */
const BENCHMARK = process.env.WIFIBOX_RELIABILITY_OUT !== undefined;
export const boundOf = (statedMs: number): number => (BENCHMARK ? statedMs : 3 * statedMs + 5000);

const appliance = (c: FaultContext, name: string) => join(c.lab.dir, 'appliance', name);
/** wifibox-init's daemons (name and pid) before the passthrough's fault. */
let daemonsBefore: string[] = [];
/** How many ATTACHes the re-attaching monitor needed (1 unless a datagram was lost). */
let reattachAttempts = 0;

/** The host never went without the wireless network for more than 1 s from the fault on. */
async function noGapOverOneSecond(c: FaultContext, t: FaultTimes): Promise<Record<string, number>> {
  const gapMs = c.reach.longestGap(t.faultAt, Date.now());
  expect(gapMs, 'the longest time without the wireless network').toBeLessThanOrEqual(boundOf(1000));
  return { gapMs };
}

export const FAULT_CASES: FaultCase[] = [
  {
    id: 'init-killed',
    fault: "kill -9 of wifibox-init; started again after the service's respawn delay (2 s)",
    holds: 'no doubled daemons; the host never loses the wireless network for more than 1 s',
    withinMs: 3000,
    after: 'the restart',
    inject: (c) =>
      outage(
        () => process.kill(c.init.pid, 'SIGKILL'),
        () => sleep(RESPAWN_INIT_MS),
        async () => {
          c.init = c.lab.startInit(INIT_ARGS);
          await waitFor(
            'every step of the new wifibox-init',
            async () => {
              const st = await initStatus(c.lab).catch(() => null);
              return st?.pid === c.init.pid && st.steps.every((s) => s.state === 'ok') && st.lease?.address;
            },
            20_000,
            50,
          );
        },
      ),
    check: noGapOverOneSecond,
  },
  {
    id: 'passthru-fault',
    fault: "an exception in the passthrough's code (the lab's lab/inject-fault.cjs throws at its next write to a host connection)",
    holds: 'contained: the passthrough is started again in the same runtime; the network part, its daemons, the NAT and the DNS relay never stop',
    withinMs: 1000,
    after: 'the fault',
    async inject(c) {
      daemonsBefore = (await initStatus(c.lab)).daemons.map((d) => `${d.name} ${d.pid}`);
      const faultAt = Date.now();
      const logged = c.init.output().split('fault in the part').length;
      process.kill(c.init.pid, 'SIGUSR2');
      // The clients' next reply meets it.
      await waitFor('the fault, contained', () => c.init.output().split('fault in the part').length > logged, 10_000, 10);
      return { faultAt, restoredAt: Date.now() };
    },
    async check(c, t) {
      const st = await initStatus(c.lab);
      expect(st.pid, 'the same runtime').toBe(c.init.pid);
      expect(
        st.daemons.map((d) => `${d.name} ${d.pid}`),
        'its daemons untouched',
      ).toEqual(daemonsBefore);
      expect(await c.lab.lookup('host', WIRELESS_NAME, c.lab.addr.guestEth0, 5000), 'a name through the DNS relay').not.toBeNull();
      return noGapOverOneSecond(c, t);
    },
  },
  daemonFault('udhcpd-killed'),
  daemonFault('dhcpcd-killed'),
  daemonFault('wpa-killed'),
  {
    ...daemonFault('wlan0-reset'),
    // What is wifibox-init's own: dhcpcd started again as soon as wlan0 is back (the kernel tells
    // it), never after a backoff (the old glue: 9-14 s).
    async check(c, t) {
      const { since } = await daemonStatus(c.lab, 'dhcpcd');
      if (since === null) throw new Error("dhcpcd not started again: no since in wifibox-init's status");
      // wlan0 exists a moment before the lab has plugged it in completely (restoredAt): never below 0.
      const dhcpcdAgainMs = Math.max(0, Date.parse(since) - t.restoredAt);
      expect(dhcpcdAgainMs, 'dhcpcd started again, ms after wlan0 is back').toBeLessThanOrEqual(boundOf(1000));
      return { dhcpcdAgainMs };
    },
  },
  daemonFault('eth0-flap'),
  {
    id: 'wpa-restart-monitors',
    fault: 'wpa_supplicant restarted while a monitor is attached',
    holds: "the old monitor's connection is closed; ATTACH again gets events from the new daemon",
    withinMs: 1500,
    after: 'the restart',
    async inject(c) {
      reattachAttempts = 0;
      const monitor = new HostClient(join(c.lab.dir, 'clients'), c.bridge.path);
      try {
        expect(await monitor.request('ATTACH'), 'ATTACH before').toBe('OK\n');
        await waitFor('the monitor at the agent', async () => (await passthruStatus(c.lab)).ports[0]?.monitors === 1, 5000, 20);
        const faultAt = Date.now();
        await c.lab.stop(c.wpa);
        const restoredAt = Date.now();
        c.wpa = await c.lab.startWirelessDaemon();
        await waitFor('the old monitor closed', async () => (await passthruStatus(c.lab)).ports[0]?.monitors === 0, 5000, 20);
        // As wpa_cli does when its daemon went away: ATTACH again (a lost datagram is asked again).
        let attempts = 0;
        await waitFor('ATTACH to the new daemon', async () => (++attempts, (await monitor.request('ATTACH', 1000)) === 'OK\n'), 10_000, 0);
        expect(await monitor.request('REASSOCIATE', 3000), 'REASSOCIATE').toBe('OK\n');
        expect(await monitor.waitEvent(/CTRL-EVENT-CONNECTED/, 5000), 'an event').not.toBeNull();
        reattachAttempts = attempts;
        return { faultAt, restoredAt };
      } finally {
        // The monitor goes without DETACH (a DETACH through the host's socat is another
        // connection, which is not attached): the next event its host child cannot deliver ends
        // that connection, and the agent DETACHes it.
        monitor.close();
        const other = new HostClient(join(c.lab.dir, 'clients'), c.bridge.path);
        await waitFor(
          'the departed monitor DETACHed',
          async () => {
            await other.request('REASSOCIATE', 1000);
            return (await passthruStatus(c.lab)).ports[0]?.monitors === 0;
          },
          15_000,
          200,
        );
        other.close();
      }
    },
    check: async () => ({ reattachAttempts }),
  },
  daemonFault('host-socat-restarted'),
  {
    id: 'tmp-full',
    fault: "the guest's /tmp (128 KiB) filled to the last byte while the wireless domain changes",
    holds: 'service goes on; once there is room, udhcpd.conf is rendered with the new domain without another change',
    withinMs: 5000,
    after: '/tmp has room again',
    async inject(c) {
      const filler = c.lab.guestPath('/tmp/filler');
      writeFileSync(filler, '');
      for (let chunk = 65536; chunk >= 1; chunk = Math.floor(chunk / 2)) {
        for (;;) {
          try {
            writeFileSync(filler, Buffer.alloc(chunk, 0x61), { flag: 'a' });
          } catch {
            break;
          }
        }
      }
      const faultAt = Date.now();
      await wirelessDhcp(c, 'full.lab');
      await waitFor('the new domain at wifibox-init', async () => (await initStatus(c.lab)).dns.domain === 'full.lab', 10_000, 50);
      expect(readFileSync(c.lab.guestPath('/tmp/udhcpd.conf'), 'utf8')).not.toContain('full.lab');
      rmSync(filler);
      const restoredAt = Date.now();
      await waitFor('udhcpd.conf with the new domain', () => readFileSync(c.lab.guestPath('/tmp/udhcpd.conf'), 'utf8').includes('full.lab'), 35_000, 50);
      await wirelessDhcp(c, WIRELESS_DOMAIN);
      return { faultAt, restoredAt };
    },
    async check(c, t) {
      const renderedMs = Date.now() - t.restoredAt;
      return { renderedMs, gapMs: c.reach.longestGap(t.faultAt, t.restoredAt) };
    },
  },
  {
    id: 'config-corrupt',
    fault: 'uds_passthru.conf made corrupt, then unreadable (a folder in its place), SIGHUP each time; then restored',
    holds: 'the running configuration stays, the problem is named; the restored file applies',
    withinMs: 2000,
    after: "the restored file's SIGHUP",
    async inject(c) {
      const file = appliance(c, 'uds_passthru.conf');
      const good = readFileSync(file, 'utf8');
      const faultAt = Date.now();
      writeFileSync(file, good.slice(0, good.length / 2) + '\0\0"\n$(');
      process.kill(c.init.pid, 'SIGHUP');
      process.kill(c.init.pid, 'SIGHUP'); // wifibox-init does not reload: it says so and goes on
      await waitFor(
        'the corrupt file named',
        async () => (await passthruStatus(c.lab)).problems.some((p) => p.includes('keeping the configuration read before')),
        5000,
        20,
      );
      expect((await passthruStatus(c.lab)).ports.map((p) => p.listening)).toEqual([true, true]);
      renameSync(file, `${file}.saved`);
      mkdirSync(file);
      process.kill(c.init.pid, 'SIGHUP');
      await waitFor('the unreadable file named', async () => (await passthruStatus(c.lab)).problems.some((p) => /cannot read: EISDIR/.test(p)), 5000, 20);
      expect((await passthruStatus(c.lab)).ports.map((p) => p.listening)).toEqual([true, true]);
      rmSync(file, { recursive: true });
      writeFileSync(file, good);
      rmSync(`${file}.saved`);
      const restoredAt = Date.now();
      process.kill(c.init.pid, 'SIGHUP');
      await waitFor('the restored file read', async () => (await passthruStatus(c.lab)).problems.length === 0, 5000, 20);
      return { faultAt, restoredAt };
    },
  },
  { ...daemonFault('wireless-dhcp-gone'), check: noGapOverOneSecond },
  {
    id: 'silent-client',
    fault: 'a host client connects to port 1200 and never speaks',
    holds: 'it is closed after the idle timeout (2 s here); the others are served meanwhile',
    withinMs: 1000,
    after: 'the connection',
    async inject(c) {
      const faultAt = Date.now();
      // Held for 6 s: the service is checked while it hangs there, its end afterwards.
      const ending = c.lab
        .host([process.execPath, join(__dirname, 'flood.cjs'), c.lab.addr.guestEth0, '1200', '1', '6000'], { timeoutMs: 20_000 })
        .then((r) => {
          expect(JSON.parse(r.stdout)).toEqual({ opened: 1, closedByPeer: 1 });
        });
      return { faultAt, restoredAt: faultAt, ending };
    },
  },
  {
    id: 'flooding-client',
    fault: 'a host client opens 100 connections at once and holds them',
    holds: 'those over the limit (64) are refused and counted; the others are served, then all are closed',
    withinMs: 2000,
    after: 'the flood ended',
    async inject(c) {
      const before = portOf(await passthruStatus(c.lab), 1200).counters.refusedLimit;
      const faultAt = Date.now();
      const r = await c.lab.host([process.execPath, join(__dirname, 'flood.cjs'), c.lab.addr.guestEth0, '1200', '100', '1500'], { timeoutMs: 20_000 });
      const flood = JSON.parse(r.stdout) as { opened: number; closedByPeer: number };
      expect(flood.closedByPeer).toBeGreaterThan(0);
      expect(portOf(await passthruStatus(c.lab), 1200).counters.refusedLimit).toBeGreaterThan(before);
      return { faultAt, restoredAt: Date.now() };
    },
  },
];
