// IPv6, prefix and interface-name parsing for the guest config files (IPv4 is common/ipv4.ts).
// Strict on purpose: what passes here must also pass `ip`, udhcpd and radvd unchanged.
import { parseIPv4 } from '../../common/ipv4';

/** The eight 16-bit groups of an IPv6 address: full, `::`-compressed, or with a trailing dotted quad. No zone (`%eth0`). */
export function parseIPv6(s: string): number[] | null {
  if (s.length < 2 || s.length > 45) return null;
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const groups = (part: string, last: boolean): number[] | null => {
    if (part === '') return [];
    const out: number[] = [];
    const fields = part.split(':');
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i] as string;
      if (last && i === fields.length - 1 && f.includes('.')) {
        const v4 = parseIPv4(f);
        if (v4 === null) return null;
        out.push(Math.floor(v4 / 65536), v4 % 65536);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(f)) {
        out.push(parseInt(f, 16));
      } else {
        return null;
      }
    }
    return out;
  };
  if (halves.length === 1) {
    const all = groups(s, true);
    return all !== null && all.length === 8 ? all : null;
  }
  const head = groups(halves[0] as string, false);
  const tail = groups(halves[1] as string, true);
  // `::` stands for at least one zero group.
  if (head === null || tail === null || head.length + tail.length > 7) return null;
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

export const isIPv6 = (s: string): boolean => parseIPv6(s) !== null;

/** A prefix length written in decimal without leading zeros, 0..max. */
export function parsePrefix(s: string, max: number): number | null {
  if (!/^(0|[1-9][0-9]{0,2})$/.test(s)) return null;
  const n = Number(s);
  return n <= max ? n : null;
}

export function sameNetwork6(a: number[], b: number[], prefix: number): boolean {
  for (let i = 0; i < 8; i++) {
    const bits = Math.min(16, Math.max(0, prefix - i * 16));
    if (bits === 0) return true;
    const shift = 16 - bits;
    if ((a[i] as number) >> shift !== (b[i] as number) >> shift) return false;
  }
  return true;
}

/** fe80::/10: a gateway there is reachable whatever the interface's global prefix. */
export function isLinkLocal6(a: number[]): boolean {
  return ((a[0] as number) & 0xffc0) === 0xfe80;
}

/** Linux accepts 1-15 bytes without '/', ':' or whitespace (dev_valid_name); '.' and '..' are refused too. */
export function isInterfaceName(s: string): boolean {
  return /^[A-Za-z0-9_.@+-]{1,15}$/.test(s) && s !== '.' && s !== '..';
}
