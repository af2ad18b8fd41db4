// The guest's own mount namespace, held open by an anchor process, with the paths the real guest
// has: /media/etc (the lab's copy of the appliance samples, read-only), the application config at
// /etc/wpa_supplicant or /etc/hostapd, a fresh /run, a 128 KiB /tmp and its own /etc/resolv.conf.
// The namespace is private: whatever is mounted in it, this machine's view stays as it was.
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Flavor } from './namespaces';
import { globalSysctlKeys } from './guest-files';
import { repoRoot } from './paths';
import { must, run, waitFor } from './proc';

export const BUSYBOX = '/bin/busybox';
/** Folders the guest gets fresh copies of (tmpfs), over this machine's. */
const GUEST_OWN_FOLDERS = ['/var/lib', '/run', '/tmp'];
const REPO_STASH = '/media/.lab-checkout';
/** The fake /sys/bus/pci, inside the guest's own /run. */
export const LAB_SYS_BUS_PCI = '/run/lab-sys/bus/pci';
export const LAB_PCI_DEVICE = `${LAB_SYS_BUS_PCI}/devices/0000:00:06.0`;

/** Where the wireless daemon's config lives in the guest. */
function appDirOf(flavor: Flavor): string {
  return flavor === 'wpa_supplicant' ? '/etc/wpa_supplicant' : '/etc/hostapd';
}

/** The anchor: a process in the guest's network namespace that holds a new mount namespace open. */
export function anchorArgv(guestNs: string): string[] {
  return ['ip', 'netns', 'exec', guestNs, 'unshare', '--mount', '--propagation', 'private', 'sleep', 'infinity'];
}

/** argv run in the guest's network and mount namespaces. */
export function guestArgv(anchorPid: number, argv: readonly string[]): string[] {
  return ['nsenter', '-t', String(anchorPid), '-n', '-m', '--', ...argv];
}

/** argv run in the guest's mount namespace only, where it must work. */
function inGuestMounts(anchorPid: number, argv: readonly string[]): Promise<string> {
  return must(['nsenter', '-t', String(anchorPid), '-m', '--', ...argv]);
}

/** A path inside the guest's mount namespace, as this process can reach it. */
export function guestPath(anchorPid: number, p: string): string {
  // An absolute symlink under /proc/PID/root resolves against *our* root, so the one the
  // guest relies on (/var/run -> /run) is resolved here.
  const real = p.startsWith('/var/run/') || p === '/var/run' ? p.slice(4) : p;
  return `/proc/${anchorPid}/root${real}`;
}

/** Mounts the guest's paths in the anchor's namespace, from the lab folder `dir` (lab/guest-files.ts). */
export async function mountGuest(anchorPid: number, dir: string, flavor: Flavor): Promise<void> {
  // unshare execs sleep in place: the namespace exists once /proc shows sleep.
  await waitFor('the guest mount namespace', () => readFileSync(`/proc/${anchorPid}/comm`, 'utf8').trim() === 'sleep', 5000, 10);
  const m = (args: string[]) => inGuestMounts(anchorPid, args);
  const appDir = appDirOf(flavor);
  if (!existsSync(appDir)) throw new Error(`${appDir} is missing: install the ${flavor === 'hostapd' ? 'hostapd' : 'wpasupplicant'} package`);
  // Binds first: the lab folder lives under /run, which the guest gets a fresh copy of last.
  await m(['mount', '-t', 'tmpfs', '-o', 'mode=0755,size=1m', 'wifibox-media', '/media']);
  // The checkout (dist/, lab/) must stay where it is for processes in the guest, even when it
  // lives under a folder the guest gets its own of (a clone in /tmp): kept aside here, put back below.
  const checkout = repoRoot();
  const hidden = GUEST_OWN_FOLDERS.some((d) => checkout === d || checkout.startsWith(`${d}/`));
  if (checkout === '/media' || checkout.startsWith('/media/'))
    throw new Error(`the lab cannot run from a checkout under /media (${checkout}): the guest has its own /media`);
  if (hidden) {
    await m(['mkdir', REPO_STASH]);
    await m(['mount', '--bind', checkout, REPO_STASH]);
  }
  await m(['mkdir', '/media/etc']);
  await m(['mount', '--bind', join(dir, 'appliance'), '/media/etc']);
  await m(['mount', '-o', 'remount,bind,ro', '/media/etc']);
  await m(['mount', '--bind', join(dir, 'app'), appDir]);
  await m(['mount', '--bind', join(dir, 'resolv.conf'), '/etc/resolv.conf']);
  // The package's user, as its install adds it to the guest's passwd and group files: copies of
  // this machine's with the user added, bound over them in the guest only.
  for (const f of ['passwd', 'group'] as const) await m(['mount', '--bind', join(dir, f), `/etc/${f}`]);
  // Machine-wide sysctls (kernel.*, fs.*, vm.*) the guest's sysctl.conf sets, and the hostname:
  // each gets a file of the lab's bound over it, so nothing the guest writes reaches this
  // machine's kernel. net.* is per network namespace and stays real.
  for (const key of ['kernel.hostname', ...globalSysctlKeys(join(dir, 'appliance'))]) {
    const proc = `/proc/sys/${key.replace(/\./g, '/')}`;
    if (!existsSync(proc)) continue;
    const file = join(dir, 'sysctl', key);
    writeFileSync(file, readFileSync(proc, 'utf8'));
    await m(['mount', '--bind', file, proc]);
  }
  // udhcpd's and dhcpcd's state live under /var/lib: the guest's own.
  await m(['mount', '-t', 'tmpfs', '-o', 'mode=0755,size=4m', 'wifibox-varlib', '/var/lib']);
  await m(['mkdir', '-p', '/var/lib/misc', '/var/lib/dhcpcd']);
  await m(['mount', '-t', 'tmpfs', '-o', 'mode=0755,size=64m', 'wifibox-run', '/run']);
  await m(['mount', '-t', 'tmpfs', '-o', 'mode=1777,size=128k', 'wifibox-tmp', '/tmp']);
  if (hidden) {
    await m(['mkdir', '-p', checkout]);
    await m(['mount', '--move', REPO_STASH, checkout]);
    await m(['rmdir', REPO_STASH]);
  }
  // busybox applets by name, as the guest has them (the orchestrator is told where).
  await m(['mkdir', '/run/lab-bin']);
  for (const applet of ['udhcpd', 'udhcpc', 'dumpleases']) await m(['ln', '-s', BUSYBOX, `/run/lab-bin/${applet}`]);
  // The wireless PCI device as /sys/bus/pci shows one: released on stop by writing 1 to remove.
  await m(['mkdir', '-p', `${LAB_PCI_DEVICE}/net/wlan0/wireless`]);
  await m(['touch', `${LAB_PCI_DEVICE}/remove`]);
}

/**
 * Bind-mounts one guest path over another. E.g. a folder under the guest's /run over
 * /usr/lib/dhcpcd/dhcpcd-hooks, so a program run in the guest finds the hooks the real guest has.
 */
export async function bindInGuest(anchorPid: number, source: string, target: string, readOnly: boolean): Promise<void> {
  await inGuestMounts(anchorPid, ['mount', '--bind', source, target]);
  if (readOnly) await inGuestMounts(anchorPid, ['mount', '-o', 'remount,bind,ro', target]);
}

/** Whether a path is a mount point in the guest's mount namespace (e.g. a sysctl the lab bound a file over). */
export async function isGuestMountPoint(anchorPid: number, path: string): Promise<boolean> {
  const r = await run(['nsenter', '-t', String(anchorPid), '-m', '--', 'findmnt', '-n', '-o', 'TARGET', '--mountpoint', path]);
  return r.code === 0 && r.stdout.trim() === path;
}

/**
 * Lays `layers` (folders of this machine, first on top) over a guest folder with a read-only
 * overlay mount: the guest sees added files, this machine's folder is untouched.
 */
async function overlayInGuest(anchorPid: number, target: string, layers: readonly string[]): Promise<void> {
  // The layers are staged under the guest's own /run: the lab folder is hidden behind it.
  const staged: string[] = [];
  for (const [i, layer] of layers.entries()) {
    const inGuest = `/run/lab-layers${target.replace(/\//g, '_')}-${i}`;
    // Keeping modes: scripts stay executable.
    cpSync(layer, guestPath(anchorPid, inGuest), { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
    staged.push(inGuest);
  }
  await must(guestArgv(anchorPid, ['mount', '-t', 'overlay', 'wifibox-overlay', '-o', `lowerdir=${[...staged, target].join(':')}`, target]));
}

/**
 * Makes an unpacked package root (its usr/ and etc/) part of the guest's file system, as if it
 * were installed there, plus extra etc/ files (e.g. conf.d for the lab). Read-only overlays in
 * the guest's mount namespace: this machine's /usr and /etc are untouched.
 */
export async function installInGuest(anchorPid: number, flavor: Flavor, root: string, extraEtc?: string): Promise<void> {
  const app = appDirOf(flavor);
  const m = (args: string[]) => must(guestArgv(anchorPid, args));
  // The overlay on /etc hides the lab's binds on it: keep them aside, put them back after.
  mkdirSync(guestPath(anchorPid, '/run/lab-keep/app'), { recursive: true });
  const kept = ['resolv.conf', 'passwd', 'group'];
  for (const f of kept) {
    writeFileSync(guestPath(anchorPid, `/run/lab-keep/${f}`), '');
    await m(['mount', '--bind', `/etc/${f}`, `/run/lab-keep/${f}`]);
  }
  await m(['mount', '--bind', app, '/run/lab-keep/app']);
  await overlayInGuest(anchorPid, '/usr', [join(root, 'usr')]);
  await overlayInGuest(anchorPid, '/etc', [...(extraEtc ? [extraEtc] : []), join(root, 'etc')]);
  for (const f of kept) await m(['mount', '--bind', `/run/lab-keep/${f}`, `/etc/${f}`]);
  await m(['mount', '--bind', '/run/lab-keep/app', app]);
}

/** The state folder OpenRC keeps in /run after boot, so openrc-run works in the guest. */
export function prepareOpenrc(anchorPid: number): void {
  for (const d of [
    'started',
    'starting',
    'stopping',
    'inactive',
    'wasinactive',
    'failed',
    'hotplugged',
    'daemons',
    'options',
    'exclusive',
    'scheduled',
    'tmp',
  ]) {
    mkdirSync(guestPath(anchorPid, `/run/openrc/${d}`), { recursive: true });
  }
  writeFileSync(guestPath(anchorPid, '/run/openrc/softlevel'), 'default\n');
}
