// IPv4 addresses and masks, as the config files and the kernel give them. Strict on purpose:
// what passes here must also pass `ip`, udhcpd and the host's socat unchanged.

/** Dotted quad as a 32-bit unsigned number; leading zeros are refused because some tools read them as octal. */
export function parseIPv4(s: string): number | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let n = 0;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
    const v = Number(p);
    if (v > 255) return null;
    n = n * 256 + v;
  }
  return n;
}

/** Prefix length of a contiguous mask, null when the one bits are not all leading. */
export function prefixOfMask(mask: number): number | null {
  for (let prefix = 0; prefix <= 32; prefix++) {
    if (mask === 2 ** 32 - 2 ** (32 - prefix)) return prefix;
  }
  return null;
}

/** Prefix length of a dotted mask (255.255.255.0 → 24), null when it is not a contiguous dotted quad. */
export function prefixOfDottedMask(mask: string): number | null {
  const n = parseIPv4(mask);
  return n === null ? null : prefixOfMask(n);
}

// Whole-number arithmetic: 32-bit bitwise operators would turn /0 into a shift by 32.
export function sameNetwork4(a: number, b: number, prefix: number): boolean {
  const size = 2 ** (32 - prefix);
  return Math.floor(a / size) === Math.floor(b / size);
}
