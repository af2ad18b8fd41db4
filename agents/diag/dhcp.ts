// DHCP: wlan0's lease (from wifibox-init) and what udhcpd hands out: the DNS in its rendered
// config and the leases in its lease file.
import type { InitView } from './agents';
import type { DiagOptions } from './options';
import type { DhcpInfo, UdhcpdLeaseInfo } from './report';
import type { DiagSystem } from './system';
import { errText } from './util';

// busybox's lease file (networking/udhcp): an 8-byte big-endian time of writing, then one
// record per lease: u32 seconds left at that time, the IPv4 address, a 6-byte MAC, a 20-byte
// NUL-padded hostname and 2 bytes of padding; every number in network byte order.
const HEADER_BYTES = 8;
const RECORD_BYTES = 36;

export function parseUdhcpdLeases(buf: Buffer, now: Date): { writtenAt: string | null; leases: UdhcpdLeaseInfo[] } {
  if (buf.length < HEADER_BYTES) return { writtenAt: null, leases: [] };
  const writtenSec = Number(buf.readBigInt64BE(0));
  const leases: UdhcpdLeaseInfo[] = [];
  for (let o = HEADER_BYTES; o + RECORD_BYTES <= buf.length; o += RECORD_BYTES) {
    const left = buf.readUInt32BE(o);
    const ip = [...buf.subarray(o + 4, o + 8)].join('.');
    if (ip === '0.0.0.0') continue;
    const mac = [...buf.subarray(o + 8, o + 14)].map((b) => b.toString(16).padStart(2, '0')).join(':');
    const raw = buf.subarray(o + 14, o + 34);
    const end = raw.indexOf(0);
    // Hostnames come from clients: keep only printable characters.
    const hostname = raw.subarray(0, end < 0 ? raw.length : end).toString('latin1').replace(/[^\x20-\x7e]/g, '?');
    const expiresMs = (writtenSec + left) * 1000;
    leases.push({
      address: ip,
      mac,
      hostname: hostname || null,
      expiresAt: new Date(expiresMs).toISOString(),
      expired: expiresMs <= now.getTime(),
    });
  }
  return { writtenAt: new Date(writtenSec * 1000).toISOString(), leases };
}

/** The DNS servers (`opt dns`) and lease file a udhcpd config names. */
export function parseUdhcpdConf(text: string): { dns: string[]; leaseFile: string | null } {
  const dns: string[] = [];
  let leaseFile: string | null = null;
  for (const raw of text.split('\n')) {
    const words = raw.replace(/#.*/, '').trim().split(/\s+/).filter(Boolean);
    if ((words[0] === 'opt' || words[0] === 'option') && words[1] === 'dns') dns.push(...words.slice(2));
    if (words[0] === 'lease_file' && words[1]) leaseFile = words[1];
  }
  return { dns, leaseFile };
}

export function readDhcp(sys: DiagSystem, opts: DiagOptions, init: InitView): DhcpInfo {
  const config = init.udhcpd?.config ?? opts.udhcpdConf;
  let configDns: string[] = [];
  let configError: string | null = null;
  let leaseFile = opts.udhcpdLeases;
  try {
    const conf = parseUdhcpdConf(sys.readText(config));
    configDns = conf.dns;
    if (conf.leaseFile) leaseFile = conf.leaseFile;
  } catch (err) {
    configError = errText(err);
  }
  let leaseFileError: string | null = null;
  let parsed: ReturnType<typeof parseUdhcpdLeases> = { writtenAt: null, leases: [] };
  try {
    parsed = parseUdhcpdLeases(sys.readBytes(leaseFile), sys.now());
  } catch (err) {
    leaseFileError = errText(err);
  }
  return {
    wireless: init.lease,
    udhcpd: {
      config,
      configError,
      configDns,
      dnsKnown: init.udhcpd ? init.udhcpd.dnsKnown : null,
      leaseFile,
      leaseFileError,
      writtenAt: parsed.writtenAt,
      leases: parsed.leases,
    },
  };
}
