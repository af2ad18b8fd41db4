// The guest as wifibox-diag is looked at in its lab test and in its benchmark: stand-ins for what
// the lab cannot give it, and the healthy station guest both start from.
import { writeFileSync } from 'node:fs';
import { LAB_SYS_BUS_PCI } from './guest';
import type { Lab } from './lab';
import { waitFor, type LabProcess } from './proc';
import { initStatus } from './status';

// The lab has no syslogd: the guest gets a syslog file of a few lines, as busybox syslogd writes them.
const SYSLOG = [
  'Nov 26 15:05:58 wifibox daemon.info wifibox-init[1]: starting',
  'Nov 26 15:05:58 wifibox daemon.warn wifibox-init[1]: /media/etc/sysctl.conf:37: cannot set net.nf_conntrack_max: ENOENT',
  'Nov 26 15:05:59 wifibox daemon.err udhcpd[2]: bind: Address in use',
  '',
].join('\n');
// The kernel log of a card whose firmware is missing (the lab's kernel is this machine's).
const KMSG = '6,1,1000,-;Linux version 6.1\n3,2,2100000,-;iwlwifi 0000:00:06.0: Direct firmware load for iwlwifi-cc-a0-77.ucode failed with error -2\n';

/** wifibox-diag's options for the lab's stand-ins of the guest's syslog, PCI tree and kernel log. */
export const DIAG_LAB_ARGS = ['--syslog-file', '/run/messages', '--sys-bus-pci', LAB_SYS_BUS_PCI, '--kmsg', '/run/kmsg'];

/** Writes the syslog file and the kernel log that DIAG_LAB_ARGS name. */
export function writeDiagStandIns(lab: Lab): void {
  writeFileSync(lab.guestPath('/run/messages'), SYSLOG);
  writeFileSync(lab.guestPath('/run/kmsg'), KMSG);
}

/**
 * The station guest (configureGuest: false) with everything up: the wireless network, wifibox-init,
 * the host's DHCP client, wpa_supplicant and wifibox-passthru, once init reports the wireless lease
 * and its DNS. Then traffic through the NAT and through the passthrough, so their counters move.
 * Throws when any of it does not happen.
 */
export async function startHealthyGuest(lab: Lab): Promise<{ init: LabProcess; wpa: LabProcess; passthru: LabProcess; air: { dhcp: LabProcess } }> {
  const air = await lab.startWirelessNetwork();
  // udhcpd writes its lease file every second, so the host's lease is in it at once.
  const init = lab.startInit(['--lease-write', '1']);
  lab.startDhcpClient('host', 'wifibox0');
  const wpa = await lab.startWirelessDaemon();
  const passthru = await lab.startPassthru();
  await waitFor(
    'the wireless lease and its DNS in udhcpd',
    async () => {
      const s = await initStatus(lab, 2000);
      return s.lease?.address && s.udhcpd?.dnsKnown;
    },
    30_000,
    200,
  );
  const body = await waitFor('the web server through NAT', () => lab.httpGet('host', `http://${lab.addr.air}:8080/`), 15_000);
  if (body !== lab.addr.guestWlan0) throw new Error(`the web server saw ${body}, expected ${lab.addr.guestWlan0}`);
  await lab.startHostBridge(1200, 'wlan0');
  const pong = (await lab.hostCli(['ping'], { timeoutMs: 15_000 })).stdout.trim();
  if (pong !== 'PONG') throw new Error(`wpa_cli ping through the passthrough: '${pong}'`);
  return { init, wpa, passthru, air };
}
