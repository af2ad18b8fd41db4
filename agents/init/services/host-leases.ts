// The host's address across a resume. The guest starts with an empty /run and /var, so udhcpd
// remembers no lease, while the host keeps the address it had and asks for it again (INIT-REBOOT).
// busybox udhcpd answers a request for an address it has no record of with a NAK, and the host
// drops its address and route until a DISCOVER gives it one again. But the host uses that address
// at once: its first packets toward the guest come with an ARP request, and the kernel notes the
// sender in eth0's neighbour table. Such a host's lease is written into udhcpd's lease file, as
// udhcpd itself would have written it, so udhcpd ACKs the host's request.
import { parseIPv4 } from '../../common/ipv4';
import type { LeaseRecord } from '../../common/udhcpd-leases';
import type { UdhcpdTemplate } from '../config/udhcpd';

export interface HostLease {
  mac: string;
  ip: string;
}

/** busybox udhcpd's lease time when its config sets none (10 days). */
export const UDHCPD_DEFAULT_LEASE_SECONDS = 864_000;

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

/**
 * Of the neighbours seen, those whose lease to write: inside the template's range (udhcpd would
 * hand the address out and reads only such leases back), and neither the MAC nor the address
 * already held by a lease in the file, a static_lease of the template (udhcpd skips those) or a
 * lease written before. One per MAC and one per address, the first seen.
 */
export function leasesToRecord(seen: readonly HostLease[], t: UdhcpdTemplate, inFile: readonly HostLease[], written: readonly HostLease[]): HostLease[] {
  const start = parseIPv4(t.start);
  const end = parseIPv4(t.end);
  if (start === null || end === null) return [];
  const taken = [...t.staticLeases, ...inFile, ...written];
  const out: HostLease[] = [];
  for (const n of seen) {
    const ip = parseIPv4(n.ip) as number;
    if (ip < start || ip > end) continue;
    if ([...taken, ...out].some((l) => l.mac === n.mac || l.ip === n.ip)) continue;
    out.push(n);
  }
  return out;
}

/**
 * The records of a lease file written at `now` (seconds since 1970): those it had, their time left
 * counted from `now` (a file written in udhcpd's future or over 12 hours ago it reads as none,
 * and so does this), and the new leases with `seconds` each.
 */
export function withLeases(
  file: { writtenAt: number | null; records: readonly LeaseRecord[] },
  add: readonly HostLease[],
  now: number,
  seconds: number,
): LeaseRecord[] {
  const passed = file.writtenAt === null ? 0 : now - file.writtenAt;
  // udhcpd itself would not read a file written in its future or over 12 hours ago.
  const stale = passed < 0 || passed > 12 * 3600;
  const kept = stale ? [] : file.records.map((r) => ({ ...r, secondsLeft: Math.max(0, r.secondsLeft - passed) }));
  return [...kept, ...add.map((l) => ({ ip: l.ip, mac: l.mac, secondsLeft: seconds, hostname: '' }))];
}
