// Who may ask the relay: peers of the LAN networks it listens on (for IPv6 also link-local ones,
// which always belong to the link). Everyone else is ignored: the relay is never an open resolver.
import { parseIPv4, sameNetwork4 } from '../../common/ipv4';
import { isLinkLocal6, parseIPv6, sameNetwork6 } from '../config/address';

export interface LanAddress {
  /** The guest's own address on the LAN side, which the relay listens on. */
  address: string;
  prefixLength: number;
}

export function inNetwork(peer: string, lan: LanAddress): boolean {
  // A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d.
  const p = peer.startsWith('::ffff:') && peer.includes('.') ? peer.slice(7) : peer;
  const own4 = parseIPv4(lan.address);
  if (own4 !== null) {
    const p4 = parseIPv4(p);
    return p4 !== null && sameNetwork4(p4, own4, lan.prefixLength);
  }
  const own6 = parseIPv6(lan.address);
  const p6 = parseIPv6(p.split('%')[0] ?? '');
  return own6 !== null && p6 !== null && (sameNetwork6(p6, own6, lan.prefixLength) || isLinkLocal6(p6));
}

/**
 * An address as the kernel reports a peer (RFC 5952 for IPv6: lower case, the longest run of zero
 * groups as '::'), so an answer's source compares equal to the server asked; null when not an address.
 */
export function canonicalAddress(a: string): string | null {
  if (parseIPv4(a) !== null) return a;
  const g = parseIPv6(a);
  if (g === null) return null;
  let best = { at: -1, len: 1 };
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > best.len) best = { at: i, len: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best.at < 0) return hex.join(':');
  return `${hex.slice(0, best.at).join(':')}::${hex.slice(best.at + best.len).join(':')}`;
}
