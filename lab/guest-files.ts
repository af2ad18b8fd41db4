// The lab's own copies of the guest's configuration folders, in the lab folder: appliance/ (the
// upstream samples, unchanged, with any overlays), app/ (the wireless daemon's config) and
// resolv.conf. lab/guest.ts mounts them where the guest has them.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Flavor } from './namespaces';

interface GuestFilesOptions {
  upstreamDir: string;
  overlays: readonly string[];
  clientNetworks: number;
}

export function writeGuestFiles(dir: string, flavor: Flavor, o: GuestFilesOptions): void {
  copySamples(join(o.upstreamDir, flavor, 'appliance'), join(dir, 'appliance'));
  for (const overlay of o.overlays) copySamples(join(o.upstreamDir, overlay), join(dir, 'appliance'));
  writeFileSync(join(dir, 'resolv.conf'), 'nameserver 127.0.0.1\n');
  writeAccounts(dir);

  if (flavor === 'wpa_supplicant') {
    const nets = Array.from({ length: o.clientNetworks }, (_, i) => `network={\n\tssid="${clientSsid(i)}"\n\tkey_mgmt=NONE\n\tdisabled=1\n}\n`).join('');
    writeFileSync(
      join(dir, 'app', 'wpa_supplicant.conf'),
      'ctrl_interface=/var/run/wpa_supplicant\nctrl_interface_group=0\nupdate_config=1\n' +
        // The wired driver has no scanning: ap_scan=0 makes it associate with network 0 at once.
        'ap_scan=0\n' +
        'network={\n\tssid="wifibox-lab"\n\tkey_mgmt=NONE\n}\n' +
        nets,
    );
  } else {
    writeFileSync(join(dir, 'app', 'hostapd.conf'), 'interface=wlan0\ndriver=wired\nctrl_interface=/var/run/hostapd\nctrl_interface_group=0\nieee8021x=0\n');
  }
}

/** The package's user (apk/APKBUILD adds it in the guest image): wifibox-forward serves as it. */
const PACKAGE_USER = 'wifibox';

/**
 * passwd and group for the guest: this machine's, with the package's user and group added as a
 * system account (a free id below 1000, as Alpine's adduser -S picks one), for lab/guest.ts to bind.
 */
function writeAccounts(dir: string): void {
  const passwd = readFileSync('/etc/passwd', 'utf8');
  const group = readFileSync('/etc/group', 'utf8');
  const taken = new Set([...passwd.matchAll(/^[^:]*:[^:]*:(\d+):/gm), ...group.matchAll(/^[^:]*:[^:]*:(\d+):/gm)].map((m) => Number(m[1])));
  let id = 200;
  while (taken.has(id)) id++;
  const has = (text: string) => new RegExp(`^${PACKAGE_USER}:`, 'm').test(text);
  const line = (text: string, add: string) => (has(text) ? text : `${text.replace(/\n?$/, '\n')}${add}\n`);
  writeFileSync(join(dir, 'passwd'), line(passwd, `${PACKAGE_USER}:x:${id}:${id}:Wifibox agents:/var/empty:/sbin/nologin`));
  writeFileSync(join(dir, 'group'), line(group, `${PACKAGE_USER}:x:${id}:`));
}

/** Installs each upstream `X.sample` as `X` (subfolders such as sysctl.d/ too), unchanged. */
function copySamples(src: string, dest: string): void {
  for (const f of readdirSync(src, { withFileTypes: true })) {
    if (f.isDirectory()) {
      mkdirSync(join(dest, f.name), { recursive: true });
      copySamples(join(src, f.name), join(dest, f.name));
    } else if (f.name.endsWith('.sample')) {
      copyFileSync(join(src, f.name), join(dest, f.name.slice(0, -'.sample'.length)));
    }
  }
}

/** Keys outside net.* in the appliance's sysctl files: the ones that are machine-wide. */
export function globalSysctlKeys(applianceDir: string): string[] {
  const files = [join(applianceDir, 'sysctl.conf')];
  const d = join(applianceDir, 'sysctl.d');
  if (existsSync(d)) for (const f of readdirSync(d)) files.push(join(d, f));
  const keys = new Set<string>();
  for (const f of files) {
    if (!existsSync(f)) continue;
    for (const line of readFileSync(f, 'utf8').split('\n')) {
      const m = /^\s*-?([A-Za-z0-9_./-]+)\s*=/.exec(line);
      if (m && !m[1]!.replace(/\//g, '.').startsWith('net.')) keys.add(m[1]!.replace(/\//g, '.'));
    }
  }
  return [...keys];
}

/** The ssid of the extra network `i` in wpa_supplicant.conf: one per test client. */
export function clientSsid(i: number): string {
  return `lab-client-${String(i).padStart(2, '0')}`;
}
