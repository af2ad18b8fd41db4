// The host's address across a resume. The guest starts with an empty /run, so udhcpd remembers no
// lease, while the host keeps the address it had and asks for it again (INIT-REBOOT). busybox
// udhcpd answers a request for an address it has no record of with a NAK, and the host drops its
// address and route until a DISCOVER gives it one again. But the host uses that address at once:
// its first packets toward the guest come with an ARP request, and the kernel notes the sender in
// eth0's neighbour table. Such a host is given its address as a static lease, so udhcpd ACKs it.
import { parseIPv4 } from '../../common/ipv4';
import type { UdhcpdTemplate } from '../config/udhcpd';

export interface HostLease {
  mac: string;
  ip: string;
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
/** ATF_COM in /proc/net/arp's flags: the hardware address is known. */
const COMPLETE = 0x2;

/** The neighbours on `iface` whose hardware address the kernel knows (/proc/net/arp's text). */
export function neighboursOn(arp: string, iface: string): HostLease[] {
  const out: HostLease[] = [];
  for (const line of arp.split('\n').slice(1)) {
    const [ip, , flags, mac, , dev] = line.trim().split(/\s+/);
    if (dev !== iface || ip === undefined || mac === undefined || flags === undefined) continue;
    const m = mac.toLowerCase();
    if ((Number.parseInt(flags, 16) & COMPLETE) === 0 || !MAC.test(m) || m === '00:00:00:00:00:00' || m === 'ff:ff:ff:ff:ff:ff') continue;
    if (parseIPv4(ip) !== null) out.push({ ip, mac: m });
  }
  return out;
}

/** The static_lease lines the template already has, as udhcpd reads them (MAC then address). */
export function templateLeases(t: UdhcpdTemplate): HostLease[] {
  const out: HostLease[] = [];
  for (const raw of t.text.split('\n')) {
    const [key, mac, ip] = raw.replace(/#.*/, '').trim().split(/\s+/);
    if (key?.toLowerCase() === 'static_lease' && mac && ip) out.push({ mac: mac.toLowerCase(), ip });
  }
  return out;
}

/**
 * Of the neighbours seen, those to pin: inside the template's range (udhcpd would hand the address
 * out), and neither the MAC nor the address already pinned by the template or earlier. One per MAC
 * and one per address, the first seen.
 */
export function leasesToPin(seen: readonly HostLease[], t: UdhcpdTemplate, pinned: readonly HostLease[]): HostLease[] {
  const start = parseIPv4(t.start);
  const end = parseIPv4(t.end);
  if (start === null || end === null) return [];
  const taken = [...templateLeases(t), ...pinned];
  const out: HostLease[] = [];
  for (const n of seen) {
    const ip = parseIPv4(n.ip) as number;
    if (ip < start || ip > end) continue;
    if ([...taken, ...out].some((l) => l.mac === n.mac || l.ip === n.ip)) continue;
    out.push(n);
  }
  return out;
}

export function staticLeaseLines(pinned: readonly HostLease[]): string {
  return pinned.map((l) => `static_lease\t${l.mac}\t${l.ip}\n`).join('');
}
