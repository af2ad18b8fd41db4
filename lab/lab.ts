// The lab: the Wifibox guest rebuilt from real parts in network namespaces.
//
//   host ns (wifibox0) ──veth── guest ns (eth0 | wlan0) ──veth── air ns (ap0)
//
// The guest also gets its own mount namespace (held open by an anchor process) with the
// paths the real guest has: /media/etc (upstream appliance samples, read-only), the
// application config at /etc/wpa_supplicant or /etc/hostapd, a fresh /run, a 128 KiB /tmp
// and its own /etc/resolv.conf. Nothing here touches the machine's own network, /etc or
// sysctls; every process is tracked by PID + start time and stopped by PID on down().
import { spawn } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import {
  isSameProcess,
  must,
  run,
  startTime,
  stopTracked,
  waitFor,
  type RunOptions,
  type RunResult,
  type Tracked,
} from './proc';

export type Flavor = 'wpa_supplicant' | 'hostapd';

export const LAB_BASE = '/run/wifibox-lab';

/** Per-flavor addresses, matching the upstream samples (interfaces.conf, uds_passthru.conf). */
export const ADDRESSES = {
  wpa_supplicant: { guestEth0: '10.0.0.1', hostWifibox0: '10.0.0.2', guestWlan0: '192.168.77.2', air: '192.168.77.1' },
  hostapd: { guestEth0: '10.0.0.2', hostWifibox0: '10.0.0.1', guestWlan0: '192.168.0.1', air: '192.168.0.2' },
} as const;

export interface LabOptions {
  flavor?: Flavor;
  /** The upstream-config folder (default: the repository's own copy). */
  upstreamDir?: string;
  /** Where the bundled agents live (default: <repo>/dist). */
  distDir?: string;
  /** Networks added to wpa_supplicant.conf so each test client can read its own ssid. */
  clientNetworks?: number;
  /** Left running after this process exits (`npm run lab`); tests use false. */
  persistent?: boolean;
  /** Give the guest its static addresses here (false: the init orchestrator does it). */
  configureGuest?: boolean;
  /** The host gets its address by DHCP from the guest (default: when the guest is not configured here, station flavor). */
  hostDhcp?: boolean;
  /** wlan0 is plugged in later, by plugWlan() (a driver that loads late). */
  lateWlan?: boolean;
  /** Upstream overlay folders copied over the appliance samples, e.g. 'optional/ipv6/wpa_supplicant/appliance'. */
  overlays?: string[];
}

interface LabState {
  tag: string;
  flavor: Flavor;
  owner: { pid: number; start: string };
  persistent: boolean;
  namespaces: string[];
  tracked: Tracked[];
  anchor: Tracked | null;
}

export interface LabProcess extends Tracked {
  log: string;
  exited: Promise<number | null>;
  output(): string;
}

export const repoRoot = (): string => {
  // Works from lab/*.ts (vitest) and from dist/*.js (bundle): both sit one level below the root.
  return resolve(__dirname, '..');
};

export function defaultUpstreamDir(): string {
  return join(repoRoot(), 'upstream-config');
}

const REQUIRED_TOOLS = ['ip', 'unshare', 'nsenter', 'mount', 'socat', 'wpa_supplicant', 'wpa_cli', 'hostapd', 'dhcpcd', 'busybox', 'iptables-restore'];

export function missingTools(): string[] {
  const path = (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':');
  return REQUIRED_TOOLS.filter((t) => !path.some((d) => existsSync(join(d, t))));
}

export class Lab {
  readonly dir: string;
  readonly ns: { guest: string; host: string; air: string };
  readonly addr: (typeof ADDRESSES)[Flavor];
  readonly hostSockDir: string;
  private state: LabState;

  private constructor(
    readonly tag: string,
    readonly flavor: Flavor,
    readonly opts: Required<Omit<LabOptions, 'flavor'>>,
  ) {
    this.dir = join(LAB_BASE, tag);
    this.ns = { guest: `wbx-${tag}-guest`, host: `wbx-${tag}-host`, air: `wbx-${tag}-air` };
    this.addr = ADDRESSES[flavor];
    this.hostSockDir = join(this.dir, 'host', flavor);
    this.state = {
      tag,
      flavor,
      owner: { pid: process.pid, start: startTime(process.pid) ?? '' },
      persistent: opts.persistent,
      namespaces: [],
      tracked: [],
      anchor: null,
    };
  }

  /** Builds the namespaces, links and the guest's mount namespace. */
  static async up(options: LabOptions = {}): Promise<Lab> {
    if (process.getuid?.() !== 0) throw new Error('the lab needs root: it creates network namespaces');
    const missing = missingTools();
    if (missing.length) throw new Error(`the lab needs these tools on PATH: ${missing.join(', ')} (see .ci/run)`);
    const flavor = options.flavor ?? 'wpa_supplicant';
    const opts = {
      upstreamDir: options.upstreamDir ?? defaultUpstreamDir(),
      distDir: options.distDir ?? join(repoRoot(), 'dist'),
      clientNetworks: options.clientNetworks ?? 64,
      persistent: options.persistent ?? false,
      configureGuest: options.configureGuest ?? true,
      hostDhcp: options.hostDhcp ?? (options.configureGuest === false && flavor === 'wpa_supplicant'),
      lateWlan: options.lateWlan ?? false,
      overlays: options.overlays ?? [],
    };
    if (!existsSync(join(opts.upstreamDir, flavor, 'appliance'))) {
      throw new Error(`upstream samples not found at ${opts.upstreamDir}`);
    }
    await removeLabs();
    const tag = `${process.pid.toString(36)}${Math.floor(Math.random() * 36 ** 3).toString(36)}`.slice(0, 7);
    const lab = new Lab(tag, flavor, opts);
    try {
      await lab.build();
    } catch (err) {
      await lab.down();
      throw err;
    }
    return lab;
  }

  private save(): void {
    writeFileSync(join(this.dir, 'state.json'), JSON.stringify(this.state, null, 2));
  }

  private async build(): Promise<void> {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    for (const d of ['appliance', 'app', 'logs', 'host', 'sysctl']) mkdirSync(join(this.dir, d), { recursive: true });
    mkdirSync(this.hostSockDir, { recursive: true, mode: 0o770 });
    this.save();
    this.writeConfigs();

    for (const n of Object.values(this.ns)) {
      await must(['ip', 'netns', 'add', n]);
      this.state.namespaces.push(n);
      this.save();
      await must(['ip', '-n', n, 'link', 'set', 'lo', 'up']);
    }
    // veth pairs are created straight inside the namespaces: no name ever exists in the root namespace.
    await must(['ip', 'link', 'add', 'eth0', 'netns', this.ns.guest, 'type', 'veth', 'peer', 'name', 'wifibox0', 'netns', this.ns.host]);
    if (!this.opts.lateWlan) await this.plugWlan();
    if (!this.opts.hostDhcp) {
      await must(['ip', '-n', this.ns.host, 'addr', 'add', `${this.addr.hostWifibox0}/24`, 'dev', 'wifibox0']);
    }
    await must(['ip', '-n', this.ns.host, 'link', 'set', 'wifibox0', 'up']);
    if (!this.opts.hostDhcp && this.flavor === 'wpa_supplicant') {
      await must(['ip', '-n', this.ns.host, 'route', 'add', 'default', 'via', this.addr.guestEth0]);
    }

    if (this.opts.configureGuest) {
      await must(['ip', '-n', this.ns.guest, 'addr', 'add', `${this.addr.guestEth0}/24`, 'dev', 'eth0']);
      await must(['ip', '-n', this.ns.guest, 'addr', 'add', `${this.addr.guestWlan0}/24`, 'dev', 'wlan0']);
      await must(['ip', '-n', this.ns.guest, 'link', 'set', 'eth0', 'up']);
      await must(['ip', '-n', this.ns.guest, 'link', 'set', 'wlan0', 'up']);
    }
    await this.startAnchor();
  }

  /** The lab's own copies of the guest's configuration folders. */
  private writeConfigs(): void {
    copySamples(join(this.opts.upstreamDir, this.flavor, 'appliance'), join(this.dir, 'appliance'));
    for (const overlay of this.opts.overlays) copySamples(join(this.opts.upstreamDir, overlay), join(this.dir, 'appliance'));
    writeFileSync(join(this.dir, 'resolv.conf'), 'nameserver 127.0.0.1\n');

    if (this.flavor === 'wpa_supplicant') {
      const nets = Array.from({ length: this.opts.clientNetworks }, (_, i) =>
        `network={\n\tssid="${clientSsid(i)}"\n\tkey_mgmt=NONE\n\tdisabled=1\n}\n`,
      ).join('');
      writeFileSync(
        join(this.dir, 'app', 'wpa_supplicant.conf'),
        'ctrl_interface=/var/run/wpa_supplicant\nctrl_interface_group=0\nupdate_config=1\n' +
          // The wired driver has no scanning: ap_scan=0 makes it associate with network 0 at once.
          'ap_scan=0\n' +
          'network={\n\tssid="wifibox-lab"\n\tkey_mgmt=NONE\n}\n' +
          nets,
      );
    } else {
      writeFileSync(
        join(this.dir, 'app', 'hostapd.conf'),
        'interface=wlan0\ndriver=wired\nctrl_interface=/var/run/hostapd\nctrl_interface_group=0\nieee8021x=0\n',
      );
    }
  }

  private async startAnchor(): Promise<void> {
    const anchor = this.spawnTracked('anchor', ['ip', 'netns', 'exec', this.ns.guest, 'unshare', '--mount', '--propagation', 'private', 'sleep', 'infinity']);
    this.state.anchor = anchor;
    this.save();
    // unshare execs sleep in place: the namespace exists once /proc shows sleep.
    await waitFor('the guest mount namespace', () => readFileSync(`/proc/${anchor.pid}/comm`, 'utf8').trim() === 'sleep', 5000, 10);
    const m = (args: string[]) => must(['nsenter', '-t', String(anchor.pid), '-m', '--', ...args]);
    const appDir = this.flavor === 'wpa_supplicant' ? '/etc/wpa_supplicant' : '/etc/hostapd';
    if (!existsSync(appDir)) throw new Error(`${appDir} is missing: install the ${this.flavor === 'hostapd' ? 'hostapd' : 'wpasupplicant'} package`);
    // Binds first: the lab folder lives under /run, which the guest gets a fresh copy of last.
    await m(['mount', '-t', 'tmpfs', '-o', 'mode=0755,size=1m', 'wifibox-media', '/media']);
    // The checkout (dist/, lab/) must stay where it is for processes in the guest, even when it
    // lives under a folder the guest gets its own of (a clone in /tmp): kept aside here, put back below.
    const checkout = repoRoot();
    const hidden = GUEST_OWN_FOLDERS.some((d) => checkout === d || checkout.startsWith(`${d}/`));
    if (checkout === '/media' || checkout.startsWith('/media/')) throw new Error(`the lab cannot run from a checkout under /media (${checkout}): the guest has its own /media`);
    if (hidden) {
      await m(['mkdir', REPO_STASH]);
      await m(['mount', '--bind', checkout, REPO_STASH]);
    }
    await m(['mkdir', '/media/etc']);
    await m(['mount', '--bind', join(this.dir, 'appliance'), '/media/etc']);
    await m(['mount', '-o', 'remount,bind,ro', '/media/etc']);
    await m(['mount', '--bind', join(this.dir, 'app'), appDir]);
    await m(['mount', '--bind', join(this.dir, 'resolv.conf'), '/etc/resolv.conf']);
    // Machine-wide sysctls (kernel.*, fs.*, vm.*) the guest's sysctl.conf sets, and the hostname:
    // each gets a file of the lab's bound over it, so nothing the guest writes reaches this
    // machine's kernel. net.* is per network namespace and stays real.
    for (const key of ['kernel.hostname', ...globalSysctlKeys(join(this.dir, 'appliance'))]) {
      const proc = `/proc/sys/${key.replace(/\./g, '/')}`;
      if (!existsSync(proc)) continue;
      const file = join(this.dir, 'sysctl', key);
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

  /** Creates wlan0 in the guest and its peer ap0 on the wireless side, as a driver loading would. */
  async plugWlan(): Promise<void> {
    await must(['ip', 'link', 'add', 'wlan0', 'netns', this.ns.guest, 'type', 'veth', 'peer', 'name', 'ap0', 'netns', this.ns.air]);
    // In the access-point flavor run by the orchestrator, the wireless side is a client that
    // gets its address from the guest's udhcpd; otherwise it has its own.
    if (this.flavor === 'wpa_supplicant' || this.opts.configureGuest) {
      await must(['ip', '-n', this.ns.air, 'addr', 'add', `${this.addr.air}/24`, 'dev', 'ap0']);
    }
    await must(['ip', '-n', this.ns.air, 'link', 'set', 'ap0', 'up']);
    if (this.flavor === 'wpa_supplicant') {
      // The wireless side knows a route to the guest's eth0 network, so "unreachable from the
      // wireless side" is tested against packets that really arrive at the guest.
      await must(['ip', '-n', this.ns.air, 'route', 'add', '10.0.0.0/24', 'via', this.addr.guestWlan0]);
    }
  }

  /**
   * The wireless network of the station flavor: a DHCP server that hands the guest's wlan0 its
   * one address (so it is the same every run) with DNS and domain, and a web server that answers
   * with the address it sees.
   */
  async startWirelessNetwork(dns = '192.168.77.53', domain = 'wireless.lab', leaseSeconds = 120): Promise<{ dhcp: LabProcess; web: LabProcess }> {
    const dhcp = this.startWirelessDhcp(dns, domain, leaseSeconds);
    const web = this.startInAir('air-web', [process.execPath, join(repoRoot(), 'lab', 'web-server.cjs'), this.addr.air, '8080']);
    await waitFor('the wireless web server', async () => (await this.air(['ss', '-Htln', 'sport = :8080'])).stdout.includes(':8080'), 5000);
    return { dhcp, web };
  }

  private wirelessDhcpSeq = 0;
  startWirelessDhcp(dns: string, domain: string, leaseSeconds: number): LabProcess {
    const conf = join(this.dir, `air-udhcpd-${++this.wirelessDhcpSeq}.conf`);
    writeFileSync(conf, [
      `start ${this.addr.guestWlan0}`, `end ${this.addr.guestWlan0}`, 'interface ap0',
      `lease_file ${join(this.dir, 'air-udhcpd.leases')}`, `pidfile ${join(this.dir, 'air-udhcpd.pid')}`,
      'opt subnet 255.255.255.0', `opt router ${this.addr.air}`, `opt dns ${dns}`, `opt domain ${domain}`,
      `opt lease ${leaseSeconds}`, '',
    ].join('\n'));
    return this.startInAir(`air-udhcpd-${this.wirelessDhcpSeq}`, [BUSYBOX, 'udhcpd', '-f', conf]);
  }

  /**
   * IPv6 on the wireless network, as its router does it: an address of the prefix on ap0 and
   * radvd advertising the prefix (SLAAC) with an IPv6 DNS server (RDNSS). Forwarding is turned
   * on in the wireless namespace only: radvd advertises itself as a router only with it.
   */
  private wirelessRaSeq = 0;
  async startWirelessRa(dns6 = '2001:db8:77::53', prefix = '2001:db8:77::/64', address = '2001:db8:77::1'): Promise<LabProcess> {
    await must(['ip', '-n', this.ns.air, 'addr', 'replace', `${address}/${prefix.split('/')[1]}`, 'dev', 'ap0', 'nodad']);
    await must(this.airArgv(['sysctl', '-q', '-w', 'net.ipv6.conf.all.forwarding=1']));
    const name = `air-radvd-${++this.wirelessRaSeq}`;
    const conf = join(this.dir, `${name}.conf`);
    writeFileSync(conf, [
      'interface ap0 {', '\tAdvSendAdvert on;', '\tMinRtrAdvInterval 3;', '\tMaxRtrAdvInterval 10;',
      `\tprefix ${prefix} {`, '\t\tAdvOnLink on;', '\t\tAdvAutonomous on;', '\t};',
      `\tRDNSS ${dns6} {`, '\t};', '};', '',
    ].join('\n'));
    return this.startInAir(name, ['radvd', '-n', '-m', 'stderr', '-d', '1', '-C', conf, '-p', join(this.dir, `${name}.pid`)]);
  }

  /** A DHCP client (busybox udhcpc) in the host or wireless namespace; its lease events go to a JSON-lines file. */
  startDhcpClient(where: 'host' | 'air', iface: string): { proc: LabProcess; events: string } {
    const events = join(this.dir, `${where}-dhcp-events.jsonl`);
    const argv = [BUSYBOX, 'udhcpc', '-f', '-i', iface, '-s', join(repoRoot(), 'lab', 'udhcpc-script.cjs'), '-t', '20', '-T', '1', '-A', '1'];
    const env = { ...process.env, LAB_DHCP_EVENTS: events };
    const proc = this.spawnTracked(`${where}-udhcpc`, where === 'host' ? this.hostArgv(argv) : this.airArgv(argv), env);
    return { proc, events };
  }

  /** The init orchestrator from dist/, in the guest, on /media/etc, with the lab's fake PCI tree. */
  startInit(args: readonly string[] = [], name = 'init'): LabProcess {
    return this.startInGuest(name, [process.execPath, ...AGENT_NODE_FLAGS, join(this.opts.distDir, 'wifibox-init.js'), '--loglevel', 'debug',
      '--sys-bus-pci', LAB_SYS_BUS_PCI, '--udhcpd', '/run/lab-bin/udhcpd', ...args]);
  }

  /** GET a URL from the host or the wireless namespace; the body, or '' when it failed. */
  async httpGet(where: 'host' | 'air', url: string): Promise<string> {
    const argv = [process.execPath, join(repoRoot(), 'lab', 'http-get.cjs'), url];
    const r = await (where === 'host' ? this.host(argv, { timeoutMs: 10_000 }) : this.air(argv, { timeoutMs: 10_000 }));
    return r.code === 0 ? r.stdout.trim() : '';
  }

  /**
   * A sysctl as the guest sees it. Not through guestPath(): /proc/sys/net answers for the
   * network namespace of whoever reads it, so it must be read from inside the guest.
   */
  async guestSysctl(key: string): Promise<string> {
    const r = await this.guest(['cat', `/proc/sys/${key.replace(/\./g, '/')}`]);
    if (r.code !== 0) throw new Error(`cannot read ${key} in the guest: ${r.stderr}`);
    return r.stdout.trim();
  }

  /**
   * Bind-mounts one guest path over another, inside the guest's own mount namespace only (it is
   * private: this machine's view stays as it was). E.g. a folder under the guest's /run over
   * /usr/lib/dhcpcd/dhcpcd-hooks, so a program run in the guest finds the hooks the real guest has.
   */
  async bindInGuest(source: string, target: string, readOnly = false): Promise<void> {
    const m = (args: string[]) => must(['nsenter', '-t', String(this.guestPid), '-m', '--', ...args]);
    await m(['mount', '--bind', source, target]);
    if (readOnly) await m(['mount', '-o', 'remount,bind,ro', target]);
  }

  /** Whether a path is a mount point in the guest's mount namespace (e.g. a sysctl the lab bound a file over). */
  async isGuestMountPoint(path: string): Promise<boolean> {
    const r = await run(['nsenter', '-t', String(this.guestPid), '-m', '--', 'findmnt', '-n', '-o', 'TARGET', '--mountpoint', path]);
    return r.code === 0 && r.stdout.trim() === path;
  }

  /**
   * Lays `layers` (folders of this machine, first on top) over a guest folder with a read-only
   * overlay mount, in the guest's mount namespace only: the guest sees added files, this
   * machine's folder is untouched.
   */
  async overlayInGuest(target: string, layers: string[]): Promise<void> {
    // The layers are staged under the guest's own /run: the lab folder is hidden behind it.
    const staged: string[] = [];
    for (const [i, layer] of layers.entries()) {
      const inGuest = `/run/lab-layers${target.replace(/\//g, '_')}-${i}`;
      cpSyncSafe(layer, this.guestPath(inGuest));
      staged.push(inGuest);
    }
    await must(this.guestArgv(['mount', '-t', 'overlay', 'wifibox-overlay', '-o', `lowerdir=${[...staged, target].join(':')}`, target]));
  }

  /**
   * Makes an unpacked package root (its usr/ and etc/) part of the guest's file system, as if it
   * were installed there, plus extra etc/ files (e.g. conf.d for the lab). Read-only overlays in
   * the guest's mount namespace: this machine's /usr and /etc are untouched.
   */
  async installInGuest(root: string, extraEtc?: string): Promise<void> {
    const app = this.flavor === 'wpa_supplicant' ? '/etc/wpa_supplicant' : '/etc/hostapd';
    const m = (args: string[]) => must(this.guestArgv(args));
    // The overlay on /etc hides the lab's binds on it: keep them aside, put them back after.
    mkdirSync(this.guestPath('/run/lab-keep/app'), { recursive: true });
    writeFileSync(this.guestPath('/run/lab-keep/resolv.conf'), '');
    await m(['mount', '--bind', '/etc/resolv.conf', '/run/lab-keep/resolv.conf']);
    await m(['mount', '--bind', app, '/run/lab-keep/app']);
    await this.overlayInGuest('/usr', [join(root, 'usr')]);
    await this.overlayInGuest('/etc', [...(extraEtc ? [extraEtc] : []), join(root, 'etc')]);
    await m(['mount', '--bind', '/run/lab-keep/resolv.conf', '/etc/resolv.conf']);
    await m(['mount', '--bind', '/run/lab-keep/app', app]);
  }

  /** The state folder OpenRC keeps in /run after boot, so openrc-run works in the guest. */
  async prepareOpenrc(): Promise<void> {
    for (const d of ['started', 'starting', 'stopping', 'inactive', 'wasinactive', 'failed', 'hotplugged', 'daemons', 'options', 'exclusive', 'scheduled', 'tmp']) {
      mkdirSync(this.guestPath(`/run/openrc/${d}`), { recursive: true });
    }
    writeFileSync(this.guestPath('/run/openrc/softlevel'), 'default\n');
  }

  /** The anchor process that holds the guest's namespaces open (nsenter -t PID). */
  get guestPid(): number {
    return this.state.anchor!.pid;
  }

  /** A path inside the guest's mount namespace, as this process can reach it. */
  guestPath(p: string): string {
    // An absolute symlink under /proc/PID/root resolves against *our* root, so the one the
    // guest relies on (/var/run -> /run) is resolved here.
    const real = p.startsWith('/var/run/') || p === '/var/run' ? p.slice(4) : p;
    return `/proc/${this.state.anchor!.pid}/root${real}`;
  }

  guestArgv(argv: readonly string[]): string[] {
    return ['nsenter', '-t', String(this.state.anchor!.pid), '-n', '-m', '--', ...argv];
  }
  hostArgv(argv: readonly string[]): string[] {
    return ['ip', 'netns', 'exec', this.ns.host, ...argv];
  }
  airArgv(argv: readonly string[]): string[] {
    return ['ip', 'netns', 'exec', this.ns.air, ...argv];
  }

  guest(argv: readonly string[], o?: RunOptions): Promise<RunResult> {
    return run(this.guestArgv(argv), o);
  }
  host(argv: readonly string[], o?: RunOptions): Promise<RunResult> {
    return run(this.hostArgv(argv), o);
  }
  air(argv: readonly string[], o?: RunOptions): Promise<RunResult> {
    return run(this.airArgv(argv), o);
  }

  /** Starts a tracked process; its output goes to logs/<name>.log in the lab folder. */
  spawnTracked(name: string, argv: readonly string[], env?: NodeJS.ProcessEnv): LabProcess {
    const log = join(this.dir, 'logs', `${name}.log`);
    const fd = openSync(log, 'a');
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: ['ignore', fd, fd],
      detached: true, // its own process group: a Ctrl-C meant for `npm run lab` does not reach it
      env: env ?? process.env,
    });
    closeSync(fd);
    if (child.pid === undefined) throw new Error(`${name}: could not start ${argv[0]}`);
    const exited = new Promise<number | null>((res) => {
      child.on('exit', (code, signal) => res(code ?? (signal ? 128 : null)));
      child.on('error', () => res(-1));
    });
    if (this.opts.persistent) child.unref();
    const t: LabProcess = {
      name,
      pid: child.pid,
      start: startTime(child.pid) ?? '',
      log,
      exited,
      output: () => (existsSync(log) ? readFileSync(log, 'utf8') : ''),
    };
    this.state.tracked.push({ name: t.name, pid: t.pid, start: t.start });
    this.save();
    return t;
  }

  startInGuest(name: string, argv: readonly string[], env?: NodeJS.ProcessEnv): LabProcess {
    return this.spawnTracked(name, this.guestArgv(argv), env);
  }
  startInHost(name: string, argv: readonly string[]): LabProcess {
    return this.spawnTracked(name, this.hostArgv(argv));
  }
  startInAir(name: string, argv: readonly string[]): LabProcess {
    return this.spawnTracked(name, this.airArgv(argv));
  }

  async stop(p: Tracked, graceMs = 2000): Promise<void> {
    await stopTracked(p, graceMs);
    this.state.tracked = this.state.tracked.filter((t) => !(t.pid === p.pid && t.start === p.start));
    this.save();
  }

  get controlDir(): string {
    return this.flavor === 'wpa_supplicant' ? '/var/run/wpa_supplicant' : '/var/run/hostapd';
  }

  /** wpa_supplicant (wired driver) on wlan0, or hostapd (wired driver), by flavor. */
  async startWirelessDaemon(name: string = this.flavor): Promise<LabProcess> {
    const argv =
      this.flavor === 'wpa_supplicant'
        ? ['wpa_supplicant', '-Dwired', '-iwlan0', '-c/etc/wpa_supplicant/wpa_supplicant.conf', '-d', '-t']
        : ['hostapd', '-d', '-t', '/etc/hostapd/hostapd.conf'];
    const p = this.startInGuest(name, argv);
    await waitFor(`${name}'s control socket`, () => existsSync(this.guestPath(`${this.controlDir}/wlan0`)), 10_000);
    return p;
  }

  /** The passthru agent from dist/, in the guest, on the upstream config. */
  async startPassthru(args: readonly string[] = [], name = 'passthru', waitListening = true): Promise<LabProcess> {
    const p = this.startInGuest(name, [process.execPath, ...AGENT_NODE_FLAGS, join(this.opts.distDir, 'wifibox-passthru.js'), '--loglevel', 'debug', ...args]);
    if (waitListening) {
      await waitFor('the passthru agent to listen on 1200', async () => {
        const r = await this.guest(['ss', '-Htln', `sport = :1200`]);
        if (p.start && !isSameProcess(p)) throw new Error(`passthru exited: ${p.output()}`);
        return r.stdout.includes(':1200');
      }, 10_000);
    }
    return p;
  }

  /**
   * The host's half, exactly as the host runs it: one socat per socket line, turning each
   * datagram from a host client into a fresh TCP connection to the guest.
   */
  async startHostBridge(
    port = 1200,
    sock = 'wlan0',
    closeTimeout?: number,
    dir = this.hostSockDir,
  ): Promise<{ proc: LabProcess; path: string; dir: string }> {
    mkdirSync(dir, { recursive: true, mode: 0o770 });
    const path = join(dir, sock);
    const argv = ['socat', ...(closeTimeout !== undefined ? ['-t', String(closeTimeout)] : []),
      `UNIX-RECVFROM:${path},fork,user=root,group=0,mode=770`, `TCP4:${this.addr.guestEth0}:${port}`];
    const proc = this.startInHost(`host-socat-${port}-${sock}-${closeTimeout ?? 'default'}`, argv);
    await waitFor(`host socket ${path}`, () => existsSync(path), 5000);
    return { proc, path, dir };
  }

  /** Runs wpa_cli (or hostapd_cli) in the host namespace against the host's socket folder. */
  hostCli(args: readonly string[], o?: RunOptions, dir = this.hostSockDir): Promise<RunResult> {
    const cli = this.flavor === 'wpa_supplicant' ? 'wpa_cli' : 'hostapd_cli';
    return this.host([cli, '-p', dir, '-i', 'wlan0', ...args], o);
  }

  /** The last lines of every process log: what a failed run shows before it cleans up. */
  logTails(lines = 15): string {
    const dir = join(this.dir, 'logs');
    if (!existsSync(dir)) return '';
    return readdirSync(dir)
      .map((f) => {
        const text = readFileSync(join(dir, f), 'utf8').trimEnd().split('\n').slice(-lines).join('\n  ');
        return `--- ${f}\n  ${text}`;
      })
      .join('\n');
  }

  async down(): Promise<void> {
    await teardown(this.state, this.dir);
  }
}

const BUSYBOX = '/bin/busybox';
/** Folders the guest gets fresh copies of (tmpfs), over this machine's. */
const GUEST_OWN_FOLDERS = ['/var/lib', '/run', '/tmp'];
const REPO_STASH = '/media/.lab-checkout';
/** Node's flags for the resident agents, as the package's /usr/sbin wrappers run them. */
export const AGENT_NODE_FLAGS = ['--max-semi-space-size=1'];
/** The fake /sys/bus/pci, inside the guest's own /run. */
export const LAB_SYS_BUS_PCI = '/run/lab-sys/bus/pci';
export const LAB_PCI_DEVICE = `${LAB_SYS_BUS_PCI}/devices/0000:00:06.0`;

/** Copies a folder tree, keeping modes (scripts stay executable). */
function cpSyncSafe(src: string, dest: string): void {
  cpSync(src, dest, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
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

export function clientSsid(i: number): string {
  return `lab-client-${String(i).padStart(2, '0')}`;
}

async function teardown(state: LabState, dir: string): Promise<void> {
  // Agents first (they clean their own sockets on SIGTERM), the anchor last.
  for (const t of [...state.tracked].reverse()) {
    if (state.anchor && t.pid === state.anchor.pid) continue;
    await stopTracked(t);
  }
  if (state.anchor) await stopTracked(state.anchor);
  // Anything still inside the lab's namespaces was started by the lab or by what it started
  // (e.g. a daemon's helpers): found by namespace, stopped by PID, so none outlives the lab.
  for (const n of state.namespaces) {
    for (const pid of await pidsIn(n)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  for (const n of state.namespaces) {
    await run(['ip', 'netns', 'del', n]);
  }
  rmSync(dir, { recursive: true, force: true });
}

/** The PIDs of the processes in a lab network namespace. */
export async function pidsIn(ns: string): Promise<number[]> {
  const r = await run(['ip', 'netns', 'pids', ns]);
  return r.code === 0 ? r.stdout.split(/\s+/).filter(Boolean).map(Number) : [];
}

function readState(dir: string): LabState | null {
  try {
    return JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as LabState;
  } catch {
    return null;
  }
}

/**
 * Removes labs whose owner is gone: by default the test runs that died without cleaning up (never
 * a persistent `npm run lab`); with `persistent`, those too (`npm run lab -- down`); with
 * `liveTests`, also test runs still going.
 */
export async function removeLabs(which: { persistent?: boolean; liveTests?: boolean } = {}): Promise<string[]> {
  if (!existsSync(LAB_BASE)) return [];
  const removed: string[] = [];
  for (const tag of readdirSync(LAB_BASE)) {
    const dir = join(LAB_BASE, tag);
    const st = readState(dir);
    if (!st) continue;
    const kept = st.persistent ? !which.persistent : !which.liveTests && isSameProcess({ name: 'owner', ...st.owner });
    if (kept) continue;
    await teardown(st, dir);
    removed.push(tag);
  }
  return removed;
}

