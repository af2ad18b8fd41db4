// The lab: the Wifibox guest rebuilt from real parts in network namespaces.
//
//   host ns (wifibox0) ──veth── guest ns (eth0 | wlan0) ──veth── air ns (ap0)
//
// The Lab puts the parts together: the namespaces and links (namespaces.ts), the guest's files
// (guest-files.ts) and its own mount namespace (guest.ts), the wireless network (wireless.ts), the
// agents, and its record (stale.ts). Nothing here touches the machine's own network, /etc or
// sysctls; every process is tracked by PID + start time and stopped by PID on down().
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { anchorArgv, bindInGuest, BUSYBOX, guestArgv, guestPath, installInGuest, isGuestMountPoint, LAB_SYS_BUS_PCI, mountGuest, prepareOpenrc } from './guest';
import { budgetDirs, GuestBudget, type BudgetUse } from './budget';
import { writeGuestFiles } from './guest-files';
import { ADDRESSES, buildNetwork, namespacesOf, pidsIn, plugWlan, unplugWlan, type Addresses, type Flavor, type Namespaces } from './namespaces';
import { withDefaults, type LabOptions, type ResolvedLabOptions } from './options';
import { labScript, packageArgv } from './paths';
import {
  isSameProcess,
  logTails,
  run,
  spawnLogged,
  startTime,
  stopTracked,
  waitFor,
  type LabProcess,
  type RunOptions,
  type RunResult,
  type Tracked,
} from './proc';
import { LAB_BASE, removeLabs, saveState, teardown, type LabState } from './stale';
import { WirelessNetwork } from './wireless';

/** OpenRC's helper that updates its dependency tree (Debian's and Alpine's path). */
const OPENRC_DEPEND = '/lib/rc/bin/rc-depend';

const REQUIRED_TOOLS = ['ip', 'unshare', 'nsenter', 'mount', 'socat', 'wpa_supplicant', 'wpa_cli', 'hostapd', 'dhcpcd', 'busybox', 'iptables-restore'];

/** Which of `tools` (default: those every lab needs) are not on PATH. */
export function missingTools(tools: readonly string[] = REQUIRED_TOOLS): string[] {
  const path = (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':');
  return tools.filter((t) => !path.some((d) => existsSync(join(d, t))));
}

/**
 * One line of a DHCP client's events file (startDhcpClient): the event udhcpc ran its script for
 * (bound, renew, deconfig, leasefail, nak), when, and udhcpc's variables for it, those it set.
 */
export interface DhcpEvent {
  event: string;
  at: number;
  interface?: string;
  ip?: string;
  subnet?: string;
  mask?: string;
  router?: string;
  /** Space-separated, as udhcpc gives them. */
  dns?: string;
  domain?: string;
  search?: string;
  lease?: string;
  serverid?: string;
}

/** The events in a DHCP client's file, oldest first; none while there is no file yet, and a line being written is skipped. */
export function dhcpEvents(file: string): DhcpEvent[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').flatMap((l) => {
    if (!l.trim()) return [];
    try {
      return [JSON.parse(l) as DhcpEvent];
    } catch {
      return []; // the script is still writing it
    }
  });
}

export class Lab {
  readonly dir: string;
  readonly ns: Namespaces;
  readonly addr: Addresses;
  readonly hostSockDir: string;
  private state: LabState;
  private readonly wireless = new WirelessNetwork(this);
  private readonly budget: GuestBudget | null;

  private constructor(
    readonly tag: string,
    readonly flavor: Flavor,
    readonly opts: Omit<ResolvedLabOptions, 'flavor'>,
  ) {
    this.dir = join(LAB_BASE, tag);
    this.ns = namespacesOf(tag);
    this.addr = ADDRESSES[flavor];
    this.hostSockDir = join(this.dir, 'host', flavor);
    this.budget = opts.budget ? new GuestBudget(tag, opts.budget) : null;
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
    if (missing.length) throw new Error(`the lab needs these tools on PATH: ${missing.join(', ')} (node bundle/setup.mjs lab installs them)`);
    const { flavor, ...opts } = withDefaults(options);
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
    saveState(this.dir, this.state);
  }

  private async build(): Promise<void> {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    for (const d of ['appliance', 'app', 'logs', 'host', 'sysctl']) mkdirSync(join(this.dir, d), { recursive: true });
    mkdirSync(this.hostSockDir, { recursive: true, mode: 0o770 });
    this.save();
    writeGuestFiles(this.dir, this.flavor, this.opts);
    await buildNetwork(this.ns, { flavor: this.flavor, addr: this.addr, ...this.opts }, (n) => {
      this.state.namespaces.push(n);
      this.save();
    });
    if (this.budget) {
      this.state.cgroups = budgetDirs(this.tag);
      this.save();
      this.budget.create();
    }
    const anchor = this.spawnTracked('anchor', anchorArgv(this.ns.guest));
    this.budget?.join(anchor.pid);
    this.state.anchor = anchor;
    this.save();
    await mountGuest(anchor.pid, this.dir, this.flavor);
  }

  /** Creates wlan0 in the guest, linked to the wireless side's bridge ap0, as a driver loading would. */
  plugWlan(): Promise<void> {
    return plugWlan(this.ns, { flavor: this.flavor, addr: this.addr, configureGuest: this.opts.configureGuest });
  }

  /** Removes wlan0 from the guest (a card reset); plugWlan brings it back. */
  unplugWlan(): Promise<void> {
    return unplugWlan(this.ns);
  }

  /** The wireless network of the station flavor (lab/wireless.ts); its DHCP server alone; IPv6 router advertisements. */
  startWirelessNetwork(dns?: string, domain?: string, leaseSeconds?: number): Promise<{ dhcp: LabProcess; web: LabProcess; dns: LabProcess }> {
    return this.wireless.start(dns, domain, leaseSeconds);
  }
  /** The wireless network as a router's dnsmasq runs it (DHCP and DNS), knowing the card or not (lab/wireless.ts). */
  startWirelessRouter(knowsCard: boolean, leaseSeconds?: number): Promise<{ router: LabProcess; web: LabProcess }> {
    return this.wireless.startRouter(knowsCard, leaseSeconds);
  }

  /** A dnsmasq of the wireless network knowing only `records` (name → address, or 'address,ttl'). */
  startWirelessDns(address: string, records: Record<string, string>, extra?: readonly string[]): Promise<LabProcess> {
    return this.wireless.startDns(address, records, extra);
  }
  /** A DNS server of the wireless network that answers what `upstream` answers, `delayMs` later (lab/wireless.ts). */
  startFarWirelessDns(address: string, upstream: string, delayMs: number, forger?: string): Promise<LabProcess> {
    return this.wireless.startFarDns(address, upstream, delayMs, forger);
  }

  /**
   * Looks a name up from a namespace, as its resolver would, asking `server` (busybox nslookup);
   * the first IPv4 address of the answer, or null when there was none (no answer, NXDOMAIN, SERVFAIL).
   */
  async lookup(where: 'host' | 'air' | 'guest', name: string, server: string, timeoutMs = 10_000): Promise<string | null> {
    const argv = [BUSYBOX, 'nslookup', '-type=a', name, server];
    const r = await (where === 'host' ? this.host(argv, { timeoutMs }) : where === 'air' ? this.air(argv, { timeoutMs }) : this.guest(argv, { timeoutMs }));
    const answer = r.stdout.split(/\n\s*\n/).find((block) => /^Name:/m.test(block));
    return answer ? (/^Address:\s*(\d+\.\d+\.\d+\.\d+)\s*$/m.exec(answer)?.[1] ?? null) : null;
  }
  startWirelessDhcp(dns: string, domain: string, leaseSeconds: number): LabProcess {
    return this.wireless.startDhcp(dns, domain, leaseSeconds);
  }
  startWirelessRa(dns6?: string, prefix?: string, address?: string): Promise<LabProcess> {
    return this.wireless.startRa(dns6, prefix, address);
  }

  /** A DHCP client (busybox udhcpc) in the host or wireless namespace; its lease events go to a JSON-lines file. */
  startDhcpClient(where: 'host' | 'air', iface: string): { proc: LabProcess; events: string } {
    const events = join(this.dir, `${where}-dhcp-events.jsonl`);
    const argv = [BUSYBOX, 'udhcpc', '-f', '-i', iface, '-s', labScript('udhcpc-script.cjs'), '-t', '20', '-T', '1', '-A', '1'];
    const env = { ...process.env, LAB_DHCP_EVENTS: events };
    const proc = this.spawnTracked(`${where}-udhcpc`, where === 'host' ? this.hostArgv(argv) : this.airArgv(argv), env);
    return { proc, events };
  }

  /** GET a URL from the host or the wireless namespace; the body, or '' when it failed. */
  async httpGet(where: 'host' | 'air', url: string): Promise<string> {
    const argv = [process.execPath, labScript('http-get.cjs'), url];
    const r = await (where === 'host' ? this.host(argv, { timeoutMs: 10_000 }) : this.air(argv, { timeoutMs: 10_000 }));
    return r.code === 0 ? r.stdout.trim() : '';
  }

  /** node running a resident agent's bundle from dist/, with the package's flags and the lab's own. */
  private agentArgv(bundle: string): string[] {
    return [...packageArgv(bundle.replace(/\.js$/, ''), process.execPath), ...this.opts.agentNodeFlags, join(this.opts.distDir, bundle)];
  }

  /** The init orchestrator from dist/, in the guest, on /media/etc, with the lab's fake PCI tree. */
  startInit(args: readonly string[] = [], name = 'init'): LabProcess {
    return this.startInGuest(name, [
      ...this.agentArgv('wifibox-init.js'),
      '--loglevel',
      'debug',
      '--sys-bus-pci',
      LAB_SYS_BUS_PCI,
      '--udhcpd',
      '/run/lab-bin/udhcpd',
      ...args,
    ]);
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

  /** The guest's mount namespace (lab/guest.ts): binds, mount points, an installed package, OpenRC's state. */
  bindInGuest(source: string, target: string, readOnly = false): Promise<void> {
    return bindInGuest(this.guestPid, source, target, readOnly);
  }
  isGuestMountPoint(path: string): Promise<boolean> {
    return isGuestMountPoint(this.guestPid, path);
  }
  installInGuest(root: string, extraEtc?: string): Promise<void> {
    return installInGuest(this.guestPid, this.flavor, root, extraEtc);
  }
  /**
   * OpenRC's state in the guest's /run as a booted guest has it, with the dependency tree
   * OpenRC works out when it boots (before the boot runlevel): otherwise the first service
   * started pays for it (0.1-0.3 s here), which a real guest's services never do.
   */
  async prepareOpenrc(): Promise<void> {
    prepareOpenrc(this.guestPid);
    const r = await this.guest([OPENRC_DEPEND, '-u'], { timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`${OPENRC_DEPEND} -u: exit ${r.code}: ${r.stderr.trim()}`);
  }

  /** The anchor process that holds the guest's namespaces open (nsenter -t PID). */
  get guestPid(): number {
    return this.state.anchor!.pid;
  }

  /** A path inside the guest's mount namespace, as this process can reach it. */
  guestPath(p: string): string {
    return guestPath(this.guestPid, p);
  }

  guestArgv(argv: readonly string[]): string[] {
    return guestArgv(this.guestPid, argv);
  }
  hostArgv(argv: readonly string[]): string[] {
    return ['ip', 'netns', 'exec', this.ns.host, ...argv];
  }
  airArgv(argv: readonly string[]): string[] {
    return ['ip', 'netns', 'exec', this.ns.air, ...argv];
  }

  guest(argv: readonly string[], o?: RunOptions): Promise<RunResult> {
    const budget = this.budget;
    return run(this.guestArgv(argv), budget ? { ...o, onSpawn: (pid) => budget.join(pid) } : o);
  }
  host(argv: readonly string[], o?: RunOptions): Promise<RunResult> {
    return run(this.hostArgv(argv), o);
  }
  air(argv: readonly string[], o?: RunOptions): Promise<RunResult> {
    return run(this.airArgv(argv), o);
  }

  /** Starts a tracked process; its output goes to logs/<name>.log in the lab folder. */
  spawnTracked(name: string, argv: readonly string[], env?: NodeJS.ProcessEnv): LabProcess {
    const t = spawnLogged(name, argv, join(this.dir, 'logs', `${name}.log`), env ?? process.env, this.opts.persistent);
    this.state.tracked.push({ name: t.name, pid: t.pid, start: t.start });
    this.save();
    return t;
  }

  /** A guest process: inside the guest's budget when it has one (from before it forks anything). */
  startInGuest(name: string, argv: readonly string[], env?: NodeJS.ProcessEnv): LabProcess {
    const p = this.spawnTracked(name, this.guestArgv(argv), env);
    this.budget?.join(p.pid);
    return p;
  }

  /** What the guest's processes used of their budget so far; null without one. */
  budgetUse(): BudgetUse | null {
    return this.budget?.use() ?? null;
  }

  /** The guest's processes that are not in its budget (it must be none). */
  async outsideBudget(): Promise<number[]> {
    if (!this.budget) return [];
    const inside = new Set(this.budget.members());
    return (await pidsIn(this.ns.guest)).filter((pid) => !inside.has(pid));
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
    const p = this.startInGuest(name, [...this.agentArgv('wifibox-passthru.js'), '--loglevel', 'debug', ...args]);
    if (waitListening) {
      await waitFor(
        'the passthru agent to listen on 1200',
        async () => {
          const r = await this.guest(['ss', '-Htln', `sport = :1200`]);
          if (p.start && !isSameProcess(p)) throw new Error(`passthru exited: ${p.output()}`);
          return r.stdout.includes(':1200');
        },
        10_000,
      );
    }
    return p;
  }

  /**
   * The passthrough as the image runs it: a part of wifibox-init's runtime, switched on as
   * rc-service uds_passthru start does (its options in /run/wifibox-init/parts/passthru.args);
   * resolves once wifibox-init says it runs (as the service waits) and, with waitListening, once
   * port 1200 listens.
   */
  async startPassthruPart(args: readonly string[] = ['--loglevel', 'info'], waitListening = true): Promise<void> {
    const parts = this.guestPath('/run/wifibox-init/parts');
    mkdirSync(parts, { recursive: true, mode: 0o700 });
    rmSync(join(parts, 'passthru.state'), { force: true });
    writeFileSync(join(parts, 'passthru.args.new'), `# lab: rc-service uds_passthru start\n${args.join('\n')}\n`, { mode: 0o600 });
    renameSync(join(parts, 'passthru.args.new'), join(parts, 'passthru.args'));
    await waitFor(
      'wifibox-init to run the passthrough',
      () => {
        const state = existsSync(join(parts, 'passthru.state')) ? readFileSync(join(parts, 'passthru.state'), 'utf8') : '';
        if (state.startsWith('failed')) throw new Error(`wifibox-init: the passthrough ${state.trim()}`);
        return state === 'running\n';
      },
      15_000,
      20,
    );
    if (waitListening)
      await waitFor('the passthrough to listen on 1200', async () => (await this.guest(['ss', '-Htln', 'sport = :1200'])).stdout.includes(':1200'), 15_000, 50);
  }

  /** The forwarding agent from dist/, in the guest, on /media/etc/forwarding.conf. */
  startForward(args: readonly string[] = [], name = 'forward'): LabProcess {
    return this.startInGuest(name, [...this.agentArgv('wifibox-forward.js'), '--loglevel', 'info', ...args]);
  }

  /**
   * The host's half, exactly as the host runs it: one socat per socket line, turning each
   * datagram from a host client into a fresh TCP connection to the guest.
   */
  async startHostBridge(port = 1200, sock = 'wlan0', closeTimeout?: number, dir = this.hostSockDir): Promise<{ proc: LabProcess; path: string; dir: string }> {
    mkdirSync(dir, { recursive: true, mode: 0o770 });
    const path = join(dir, sock);
    const argv = [
      'socat',
      ...(closeTimeout !== undefined ? ['-t', String(closeTimeout)] : []),
      `UNIX-RECVFROM:${path},fork,user=root,group=0,mode=770`,
      `TCP4:${this.addr.guestEth0}:${port}`,
    ];
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
    return logTails(join(this.dir, 'logs'), lines);
  }

  async down(): Promise<void> {
    await teardown(this.state, this.dir);
  }
}
