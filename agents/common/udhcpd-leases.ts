// busybox udhcpd's lease file (networking/udhcp): an 8-byte big-endian time of writing (seconds
// since 1970), then one 36-byte record per lease: u32 seconds left at that time, the IPv4 address,
// a 6-byte MAC, a 20-byte NUL-padded hostname and 2 bytes of padding; numbers in network order.
// udhcpd reads it only when it starts, and takes no file written more than 12 hours ago or later
// than its own clock.
const LAYOUT = { headerBytes: 8, recordBytes: 36, hostnameBytes: 20 } as const;

export interface LeaseRecord {
  ip: string;
  /** Lower case, colon-separated. */
  mac: string;
  secondsLeft: number;
  /** As the client sent it (bytes up to the first NUL), '' when none. */
  hostname: string;
}

interface LeaseFile {
  /** Seconds since 1970; null when the file is too short to have a header. */
  writtenAt: number | null;
  records: LeaseRecord[];
}

/** The file's records; a free slot (address 0.0.0.0) is skipped, a cut-off last record ignored. */
export function readLeaseFile(buf: Buffer): LeaseFile {
  if (buf.length < LAYOUT.headerBytes) return { writtenAt: null, records: [] };
  const writtenAt = Number(buf.readBigInt64BE(0));
  const records: LeaseRecord[] = [];
  for (let o = LAYOUT.headerBytes; o + LAYOUT.recordBytes <= buf.length; o += LAYOUT.recordBytes) {
    const ip = [...buf.subarray(o + 4, o + 8)].join('.');
    if (ip === '0.0.0.0') continue;
    const raw = buf.subarray(o + 14, o + 14 + LAYOUT.hostnameBytes);
    const end = raw.indexOf(0);
    records.push({
      secondsLeft: buf.readUInt32BE(o),
      ip,
      mac: [...buf.subarray(o + 8, o + 14)].map((b) => b.toString(16).padStart(2, '0')).join(':'),
      hostname: raw.subarray(0, end < 0 ? raw.length : end).toString('latin1'),
    });
  }
  return { writtenAt, records };
}

/** The file udhcpd would write at `writtenAt` (seconds since 1970) with these leases. */
export function writeLeaseFile(writtenAt: number, records: readonly LeaseRecord[]): Buffer {
  const buf = Buffer.alloc(LAYOUT.headerBytes + LAYOUT.recordBytes * records.length);
  buf.writeBigInt64BE(BigInt(writtenAt), 0);
  records.forEach((r, i) => {
    const o = LAYOUT.headerBytes + LAYOUT.recordBytes * i;
    buf.writeUInt32BE(Math.max(0, Math.min(0xffffffff, Math.floor(r.secondsLeft))), o);
    r.ip.split('.').forEach((n, k) => buf.writeUInt8(Number(n), o + 4 + k));
    r.mac.split(':').forEach((h, k) => buf.writeUInt8(Number.parseInt(h, 16), o + 8 + k));
    // One byte stays NUL: udhcpd's hostname is always NUL-terminated.
    Buffer.from(r.hostname, 'latin1').copy(buf, o + 14, 0, LAYOUT.hostnameBytes - 1);
  });
  return buf;
}
