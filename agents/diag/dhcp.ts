// DHCP: wlan0's lease (from wifibox-init) and what udhcpd hands out: the DNS in its rendered
// config and the leases in its lease file.
import { readLeaseFile } from '../common/udhcpd-leases';
import type { InitView } from './agents';
import type { DiagOptions } from './options';
import type { DhcpInfo, UdhcpdLeaseInfo } from './report';
import type { DiagSystem } from './system';
import { errText } from './util';

export function parseUdhcpdLeases(buf: Buffer, now: Date): { writtenAt: string | null; leases: UdhcpdLeaseInfo[] } {
  const { writtenAt, records } = readLeaseFile(buf);
  if (writtenAt === null) return { writtenAt: null, leases: [] };
  const leases = records.map((r): UdhcpdLeaseInfo => {
    const expiresMs = (writtenAt + r.secondsLeft) * 1000;
    return {
      address: r.ip,
      mac: r.mac,
      // Hostnames come from clients: keep only printable characters.
      hostname: r.hostname.replace(/[^\x20-\x7e]/g, '?') || null,
      expiresAt: new Date(expiresMs).toISOString(),
      expired: expiresMs <= now.getTime(),
    };
  });
  return { writtenAt: new Date(writtenAt * 1000).toISOString(), leases };
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
