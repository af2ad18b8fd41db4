// The wireless side: the daemon's control socket (spoken to directly, as wpa_cli would, from a
// private socket), its processes, and the PCI device behind wlan0.
import { basename, join } from 'node:path';
import type { DiagOptions } from './options';
import type { AccessPointInfo, PciDevice, StationInfo, WirelessInfo } from './report';
import type { DiagSystem } from './system';
import { errText, intOrNull, keyValues } from './util';

type WirelessDaemon = 'wpa_supplicant' | 'hostapd';

/**
 * Which daemon this guest should run: init's flavor when it says, else whichever control socket
 * or process exists, else the passthru's socket paths; wpa_supplicant (the upstream default) last.
 */
export function chooseDaemon(
  sys: DiagSystem,
  opts: DiagOptions,
  initFlavor: 'station' | 'access-point' | null,
  running: { name: string }[],
  passthruPaths: string[],
): WirelessDaemon {
  if (initFlavor) return initFlavor === 'station' ? 'wpa_supplicant' : 'hostapd';
  if (sys.isSocket(join(opts.hostapdDir, opts.wirelessInterface))) return 'hostapd';
  if (sys.isSocket(join(opts.wpaSupplicantDir, opts.wirelessInterface))) return 'wpa_supplicant';
  if (running.some((p) => p.name === 'hostapd')) return 'hostapd';
  if (running.some((p) => p.name === 'wpa_supplicant')) return 'wpa_supplicant';
  if (passthruPaths.some((p) => /(^|\/)hostapd\//.test(p))) return 'hostapd';
  return 'wpa_supplicant';
}

/**
 * Processes named in `names`, in our own network namespace only: in a lab (or any shared-PID
 * setup) /proc also shows other namespaces' daemons, which serve someone else.
 */
export function findProcesses(sys: DiagSystem, proc: string, names: readonly string[]): { name: string; pid: number }[] {
  let self: string | null = null;
  try {
    self = sys.readLink(join(proc, 'self', 'ns', 'net'));
  } catch {
    /* no namespace links (old kernel, a fixture): every process counts */
  }
  let entries: string[];
  try {
    entries = sys.list(proc);
  } catch {
    return [];
  }
  const found: { name: string; pid: number }[] = [];
  for (const d of entries) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const comm = sys.readText(join(proc, d, 'comm')).trim();
      if (!names.includes(comm)) continue;
      if (self !== null && sys.readLink(join(proc, d, 'ns', 'net')) !== self) continue;
      found.push({ name: comm, pid: Number(d) });
    } catch {
      /* gone meanwhile, or not ours to read */
    }
  }
  return found;
}

/** PCI devices that are (or drive) a wireless card: class 0x0280, or with a wireless interface. */
function readPci(sys: DiagSystem, sysBusPci: string): PciDevice[] {
  const devices = join(sysBusPci, 'devices');
  let slots: string[];
  try {
    slots = sys.list(devices);
  } catch {
    return [];
  }
  const out: PciDevice[] = [];
  for (const slot of slots) {
    const dir = join(devices, slot);
    let cls: string | null = null;
    try {
      cls = sys.readText(join(dir, 'class')).trim();
    } catch {
      /* no class file */
    }
    let nets: string[] = [];
    try {
      nets = sys.list(join(dir, 'net'));
    } catch {
      /* no interface */
    }
    const hasWireless = nets.some((n) => sys.exists(join(dir, 'net', n, 'wireless')) || sys.exists(join(dir, 'net', n, 'phy80211')));
    if (!hasWireless && !(cls ?? '').startsWith('0x0280')) continue;
    let driver: string | null = null;
    try {
      driver = basename(sys.readLink(join(dir, 'driver')));
    } catch {
      /* no driver bound */
    }
    out.push({ slot, class: cls, driver, wireless: true });
  }
  return out;
}

export function parseStation(status: string, signalPoll: string | null, listNetworks: string | null): StationInfo {
  const s = keyValues(status);
  let signal: StationInfo['signal'] = null;
  if (signalPoll && !/^FAIL/.test(signalPoll)) {
    const p = keyValues(signalPoll);
    const noise = intOrNull(p.get('NOISE'));
    signal = {
      rssiDbm: intOrNull(p.get('RSSI')),
      linkSpeedMbps: intOrNull(p.get('LINKSPEED')),
      noiseDbm: noise === null || noise === 9999 ? null : noise, // 9999: the driver does not know
    };
  }
  const tempDisabled = (listNetworks ?? '')
    .split('\n')
    .slice(1)
    .map((l) => l.split('\t'))
    .filter((f) => f.length >= 4 && f[3]!.includes('TEMP-DISABLED'))
    .map((f) => ({ id: f[0]!, ssid: f[1]! }));
  const freq = intOrNull(s.get('freq'));
  return {
    wpaState: s.get('wpa_state') ?? null,
    ssid: s.get('ssid') ?? null,
    bssid: s.get('bssid') ?? null,
    frequencyMHz: freq ? freq : null, // 0: the wired driver, or not associated
    keyMgmt: s.get('key_mgmt') ?? null,
    ipAddress: s.get('ip_address') ?? null,
    signal,
    tempDisabledNetworks: tempDisabled,
  };
}

export function parseAccessPoint(status: string, stations: string[]): AccessPointInfo {
  const s = keyValues(status);
  const freq = intOrNull(s.get('freq'));
  return {
    state: s.get('state') ?? null,
    ssid: s.get('ssid[0]') ?? s.get('ssid') ?? null,
    bssid: s.get('bssid[0]') ?? s.get('bssid') ?? null,
    channel: intOrNull(s.get('channel')),
    frequencyMHz: freq ? freq : null,
    stations: stations.map((text) => {
      const kv = keyValues(text);
      return {
        address: text.split('\n')[0]!.trim(),
        connectedSec: intOrNull(kv.get('connected_time')),
        rxBytes: intOrNull(kv.get('rx_bytes')),
        txBytes: intOrNull(kv.get('tx_bytes')),
        signalDbm: intOrNull(kv.get('signal')),
      };
    }),
  };
}

const MAX_STATIONS = 64;
const isMac = (s: string) => /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(s);

/** Talks to the control socket: STATUS (+ SIGNAL_POLL, LIST_NETWORKS or the station list). */
async function askDaemon(
  sys: DiagSystem,
  opts: DiagOptions,
  daemon: WirelessDaemon,
  socket: string,
): Promise<Pick<WirelessInfo, 'reachable' | 'error' | 'station' | 'accessPoint'>> {
  if (!sys.isSocket(socket)) {
    return { reachable: false, error: sys.exists(socket) ? 'not a socket' : 'ENOENT', station: null, accessPoint: null };
  }
  let ch;
  try {
    ch = sys.openControl(socket, opts.tmpDir);
  } catch (err) {
    return { reachable: false, error: `cannot make a private socket in ${opts.tmpDir}: ${errText(err)}`, station: null, accessPoint: null };
  }
  try {
    // After a timeout a late reply could answer the next request: ask nothing more then.
    let timedOut = false;
    const ask = async (cmd: string) => {
      if (timedOut) throw Object.assign(new Error(`${cmd}: not asked after an earlier timeout`), { code: 'ETIMEDOUT' });
      try {
        return await ch.request(cmd, opts.timeoutMs);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ETIMEDOUT') timedOut = true;
        throw err;
      }
    };
    const status = await ask('STATUS');
    if (daemon === 'wpa_supplicant') {
      const signal = await ask('SIGNAL_POLL').catch(() => null);
      const networks = await ask('LIST_NETWORKS').catch(() => null);
      return { reachable: true, error: null, station: parseStation(status, signal, networks), accessPoint: null };
    }
    const stations: string[] = [];
    let reply = await ask('STA-FIRST').catch(() => '');
    while (stations.length < MAX_STATIONS) {
      const addr = reply.split('\n')[0]!.trim();
      if (!isMac(addr)) break;
      stations.push(reply);
      reply = await ask(`STA-NEXT ${addr}`).catch(() => '');
    }
    return { reachable: true, error: null, station: null, accessPoint: parseAccessPoint(status, stations) };
  } catch (err) {
    return { reachable: false, error: errText(err), station: null, accessPoint: null };
  } finally {
    ch.close();
  }
}

export async function readWireless(
  sys: DiagSystem,
  opts: DiagOptions,
  daemon: WirelessDaemon,
  present: boolean,
  running: { name: string; pid: number }[],
): Promise<WirelessInfo> {
  const socket = join(daemon === 'wpa_supplicant' ? opts.wpaSupplicantDir : opts.hostapdDir, opts.wirelessInterface);
  const talk = await askDaemon(sys, opts, daemon, socket);
  return {
    interface: opts.wirelessInterface,
    present,
    daemon,
    daemonPids: running.filter((p) => p.name === daemon).map((p) => p.pid),
    controlSocket: socket,
    ...talk,
    pci: readPci(sys, opts.sysBusPci),
  };
}
