// The init orchestrator: apply the plan (steps run as soon as what they wait for is done),
// supervise the daemons, follow the wireless network's DNS, report, and tear down in reverse.
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { VERSION } from '../common/cli';
import { formatProblem, type ConfigProblem } from '../common/problems';
import type { InitStatus, StepState, StepStatus } from '../common/status';
import type { GuestConfig } from './config';
import type { IfaceConfig } from './config/interfaces';
import { renderRadvd } from './config/radvd';
import { sysctlPath, type SysctlEntry } from './config/sysctl';
import { renderUdhcpd } from './config/udhcpd';
import { applyHookReport, emptyLeaseState, renderResolvConf, sameDns, type LeaseState } from './lease';
import type { Plan, Step } from './plan';
import { Supervisor } from './supervisor';
import type { InitSystem } from './system';

export interface InitOptions {
  confDir: string;
  procSys: string;
  sysClassNet: string;
  sysBusPci: string;
  runDir: string;
  tmpDir: string;
  statusSocket: string;
  hookSocket: string;
  hookPath: string;
  resolvConf: string;
  lanInterface: string;
  wirelessInterface: string;
  /** Lease time handed out until the wireless DNS is known, so hosts come back for it soon. */
  shortLeaseSeconds: number;
  /** How often udhcpd writes its lease file when the template does not say (auto_time). */
  leaseWriteSeconds: number;
  tools: { ip: string; iptablesRestore: string; ip6tablesRestore: string; iptables: string; ip6tables: string; dhcpcd: string; udhcpd: string; radvd: string };
}

class StepError extends Error {}

const FIREWALL_TABLE_CHAINS: Record<string, string[]> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
};

export class Orchestrator {
  private readonly steps = new Map<string, StepStatus>();
  private readonly daemons = new Map<string, Supervisor>();
  private leaseState: LeaseState = emptyLeaseState();
  private udhcpdInfo: InitStatus['udhcpd'] = null;
  private leaseEvent: InitStatus['leaseEvent'] = null;
  private statusServer: Server | null = null;
  private hookServer: Server | null = null;
  private stopping = false;
  private upDone: Promise<void> = Promise.resolve();
  private readonly startedAt = new Date();
  private readonly addedAddresses: Array<{ iface: string; cidr: string; family: 4 | 6 }> = [];
  private dnsWork: Promise<void> = Promise.resolve();

  constructor(
    private readonly cfg: GuestConfig,
    private readonly plan: Plan,
    private readonly opts: InitOptions,
    private readonly sys: InitSystem,
    private readonly log: Logger,
  ) {
    for (const s of plan.steps) {
      this.steps.set(s.id, { id: s.id, what: s.what, after: s.after, state: 'pending', why: null, warnings: [], at: null });
    }
  }

  /** Starts the endpoints, then runs every step as soon as the steps it waits for are done. */
  up(): Promise<void> {
    this.upDone = this.runSteps();
    return this.upDone;
  }

  private async runSteps(): Promise<void> {
    this.sys.makeDir(this.opts.runDir, 0o700);
    await this.reapLeftovers();
    this.startEndpoints();
    const running = new Map<string, Promise<void>>();
    const launch = (step: Step): Promise<void> => {
      const existing = running.get(step.id);
      if (existing) return existing;
      const p = (async () => {
        const deps = step.after.map((id) => this.plan.steps.find((s) => s.id === id)).filter((s): s is Step => !!s);
        await Promise.all(deps.map(launch));
        const failed = step.after.filter((id) => { const st = this.steps.get(id)?.state; return st === 'failed' || st === 'blocked'; });
        if (failed.length) {
          this.setStep(step.id, 'blocked', `waits for ${failed.join(', ')}, which did not come up`);
          this.log.error({ step: step.id, blockedBy: failed }, `${step.what}: not done, ${failed.join(', ')} did not come up`);
          return;
        }
        if (this.stopping) return;
        this.setStep(step.id, 'running', null);
        try {
          const warnings = (await this.apply(step)) ?? [];
          this.steps.get(step.id)!.warnings = warnings;
          this.setStep(step.id, 'ok', null);
          for (const w of warnings) this.log.warn({ step: step.id }, w);
          this.log.info({ step: step.id }, `${step.what}: done`);
        } catch (err) {
          const why = (err as Error).message;
          this.setStep(step.id, 'failed', why);
          this.log.error({ step: step.id }, `${step.what}: failed: ${why}`);
        }
      })();
      running.set(step.id, p);
      return p;
    };
    await Promise.all(this.plan.steps.map(launch));
  }

  private setStep(id: string, state: StepState, why: string | null): void {
    const st = this.steps.get(id)!;
    st.state = state;
    st.why = why;
    st.at = new Date().toISOString();
  }

  private async apply(step: Step): Promise<string[] | void> {
    const a = step.action;
    switch (a.kind) {
      case 'hostname':
        this.sys.write(join(this.opts.procSys, 'kernel/hostname'), `${a.name}\n`);
        return;
      case 'sysctl':
        return this.writeSysctl(a.entries);
      case 'firewall':
        return this.loadFirewall(a.family, a.file, a.text);
      case 'forwarding': {
        const warnings = this.writeSysctl(a.entries);
        return warnings;
      }
      case 'link-up':
        await this.ip(['link', 'set', a.iface, 'up']);
        return;
      case 'wait-device':
        return this.waitDevice(a.iface);
      case 'iface':
        return this.configureIface(a.iface);
      case 'daemon':
        return this.startDaemon(a.daemon, a.iface);
    }
  }

  private writeSysctl(entries: SysctlEntry[]): string[] {
    const warnings: string[] = [];
    for (const e of entries) {
      try {
        this.sys.write(join(this.opts.procSys, sysctlPath(e.key)), `${e.value}\n`);
      } catch (err) {
        if (e.ignoreErrors) continue;
        // One key the kernel lacks (or keeps read-only here) must not stop the others.
        warnings.push(`${e.file}:${e.line}: cannot set ${e.key}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    }
    return warnings;
  }

  private async loadFirewall(family: 4 | 6, file: string, text: string): Promise<void> {
    const errors = this.problemsOf(file).filter((p) => p.severity === 'error');
    if (errors.length) throw new StepError(errors.map(formatProblem).join('; '));
    const tool = family === 4 ? this.opts.tools.iptablesRestore : this.opts.tools.ip6tablesRestore;
    const r = await this.sys.run([tool], text);
    if (r.code !== 0) {
      // iptables-restore names the line it choked on (legacy: the rule; nft: the table's COMMIT):
      // point at the user's file instead of stdin, and keep its own words.
      const m = /line (\d+) failed|Error occurred at line: (\d+)/.exec(r.stderr);
      const said = r.stderr.split('\n').map((l) => l.trim()).filter((l) => l && !/^Try `|^Error occurred at line/.test(l)).join('; ');
      throw new StepError(m ? `${file}:${m[1] ?? m[2]}: ${tool} rejected the rules: ${said}` : `${tool} failed (exit ${r.code}): ${said}`);
    }
  }

  private problemsOf(file: string): ConfigProblem[] {
    return this.cfg.problems.filter((p) => p.file === file);
  }

  private async ip(args: string[]): Promise<void> {
    const r = await this.sys.run([this.opts.tools.ip, ...args]);
    if (r.code !== 0) throw new StepError(`ip ${args.join(' ')}: ${r.stderr.trim() || `exit ${r.code}`}`);
  }

  private async waitDevice(iface: string): Promise<void> {
    let delay = 50;
    let said = false;
    while (!this.sys.exists(join(this.opts.sysClassNet, iface))) {
      if (this.stopping) throw new StepError('stopped while waiting');
      if (!said && delay >= 800) {
        this.log.warn({ iface }, `${iface} is not there yet; waiting for the driver`);
        said = true;
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 2000);
    }
  }

  private async configureIface(iface: IfaceConfig): Promise<void> {
    await this.ip(['link', 'set', iface.name, 'up']);
    if (iface.inet?.method === 'static') {
      const cidr = `${iface.inet.address}/${iface.inet.prefixLength}`;
      await this.ip(['-4', 'addr', 'replace', cidr, 'dev', iface.name]);
      this.addedAddresses.push({ iface: iface.name, cidr, family: 4 });
      if (iface.inet.gateway) await this.ip(['-4', 'route', 'replace', 'default', 'via', iface.inet.gateway, 'dev', iface.name]);
    }
    if (iface.inet6) {
      const cidr = `${iface.inet6.address}/${iface.inet6.prefixLength}`;
      await this.ip(['-6', 'addr', 'replace', cidr, 'dev', iface.name, 'nodad']);
      this.addedAddresses.push({ iface: iface.name, cidr, family: 6 });
      if (iface.inet6.gateway) await this.ip(['-6', 'route', 'replace', 'default', 'via', iface.inet6.gateway, 'dev', iface.name]);
    }
  }

  private startDaemon(daemon: 'udhcpd' | 'dhcpcd' | 'radvd', iface: string): void {
    const t = this.opts.tools;
    let argv: string[];
    if (daemon === 'udhcpd') {
      const conf = this.renderUdhcpdConf();
      // -a: busybox udhcpd waits up to 2 s for an ARP reply before offering an address; the
      // host is the only client on eth0, so 100 ms is plenty and its first lease comes sooner.
      argv = [t.udhcpd, '-f', '-a', '100', conf];
    } else if (daemon === 'dhcpcd') {
      // -e: the hook learns where to report from its environment, whatever --run-dir says.
      argv = [t.dhcpcd, '-B', '-c', this.opts.hookPath, '-e', `WIFIBOX_HOOK_SOCKET=${this.opts.hookSocket}`,
        ...(this.cfg.dhcpcdConf ? ['-f', this.cfg.dhcpcdConf] : []), iface];
    } else {
      argv = [t.radvd, '-n', '-C', this.renderRadvdConf(), '-p', join(this.opts.runDir, 'radvd.pid')];
    }
    const sup = new Supervisor(daemon, argv, this.sys, this.log, (pid) => this.recordDaemon(daemon, pid));
    this.daemons.set(daemon, sup);
    sup.start();
  }

  private get daemonsFile(): string {
    return join(this.opts.runDir, 'daemons.json');
  }

  /** Each daemon's process group, by PID and start time, for the next orchestrator. */
  private recordDaemon(name: string, pid: number): void {
    const known = this.readDaemonsFile();
    known[name] = { pid, start: this.sys.processStart(pid) ?? '' };
    this.sys.writeAtomic(this.daemonsFile, JSON.stringify(known));
  }

  private readDaemonsFile(): Record<string, { pid: number; start: string }> {
    try {
      return JSON.parse(this.sys.read(this.daemonsFile) ?? '{}') as Record<string, { pid: number; start: string }>;
    } catch {
      return {};
    }
  }

  /**
   * An orchestrator killed outright (supervise-daemon then starts a new one) leaves its daemons
   * running, holding udhcpd's port and dhcpcd's lock: stop them, found by the PID and start time
   * recorded, so no other process is ever signalled.
   */
  private async reapLeftovers(): Promise<void> {
    const known = this.readDaemonsFile();
    for (const [name, { pid, start }] of Object.entries(known)) {
      if (!start || this.sys.processStart(pid) !== start) continue;
      this.log.warn({ daemon: name, pid }, 'stopping a daemon a previous wifibox-init left running');
      this.sys.killGroup(pid, 'SIGTERM');
      for (let i = 0; i < 40 && this.sys.processStart(pid) === start; i++) await new Promise((r) => setTimeout(r, 50));
      this.sys.killGroup(pid, 'SIGKILL');
    }
    this.sys.remove(this.daemonsFile);
  }

  /** udhcpd's config in the 128 KiB /tmp: short leases until the wireless DNS is known. */
  private renderUdhcpdConf(): string {
    const t = this.cfg.udhcpd!;
    const d = this.leaseState.dns;
    // Short leases only while the wireless DNS may still come: the station flavor before its
    // first lease, with a template that asks for it. An access point has no dhcpcd to wait for,
    // and a wireless lease without DNS will not get better by waiting.
    const waiting =
      this.plan.steps.some((st) => st.id === 'dhcpcd') && t.placeholders.length > 0 && !this.leaseState.lease && d.dns.length === 0;
    const known = !waiting;
    let text = renderUdhcpd(t, { dns: d.dns, domain: d.domain, search: d.search }, known ? {} : { leaseSeconds: this.opts.shortLeaseSeconds });
    // busybox udhcpd writes its lease file every auto_time seconds (default 2 h) and on SIGTERM:
    // write it often, so hosts keep their addresses even when udhcpd is killed outright.
    if (!/^\s*auto_time\s/im.test(t.text)) text += `auto_time\t${this.opts.leaseWriteSeconds}\n`;
    const path = join(this.opts.tmpDir, 'udhcpd.conf');
    this.sys.writeAtomic(path, text);
    this.udhcpdInfo = {
      config: path,
      leaseSeconds: known ? t.leaseSeconds : this.opts.shortLeaseSeconds,
      dnsKnown: known,
      renderedAt: new Date().toISOString(),
    };
    return path;
  }

  private renderRadvdConf(): string {
    const path = join(this.opts.tmpDir, 'radvd.conf');
    this.sys.writeAtomic(path, renderRadvd(this.cfg.radvd!, this.leaseState.dns.dns6));
    return path;
  }

  /** A report from our dhcpcd hook: new DNS → re-render, restart udhcpd/radvd (their lease files stay). */
  onHookReport(env: Record<string, string>): void {
    const before = this.leaseState;
    this.leaseState = applyHookReport(before, env, new Date());
    if (env.reason) this.leaseEvent = { reason: env.reason, at: new Date().toISOString() };
    this.log.info({ reason: env.reason, address: this.leaseState.lease?.address, dns: this.leaseState.dns.dns }, 'wireless lease report');
    const firstLease = !before.lease && this.leaseState.lease !== null && this.udhcpdInfo?.dnsKnown === false;
    if (sameDns(before.dns, this.leaseState.dns) && !firstLease) return;
    this.dnsWork = this.dnsWork.then(() => this.followDns()).catch((err) => {
      this.log.error({ err: (err as Error).message }, 'could not follow the wireless DNS');
    });
  }

  private async followDns(): Promise<void> {
    if (this.stopping) return;
    const d = this.leaseState.dns;
    try {
      this.sys.write(this.opts.resolvConf, renderResolvConf(d));
    } catch (err) {
      this.log.warn({ path: this.opts.resolvConf, err: (err as Error).message }, 'cannot write resolv.conf');
    }
    const udhcpd = this.daemons.get('udhcpd');
    if (udhcpd && this.cfg.udhcpd) {
      this.renderUdhcpdConf();
      // SIGTERM makes busybox udhcpd write its lease file first: hosts keep their addresses.
      await udhcpd.restart();
      this.log.info({ dns: d.dns, domain: d.domain }, 'udhcpd now hands out the wireless network\'s DNS');
    }
    const radvd = this.daemons.get('radvd');
    if (radvd && this.cfg.radvd) {
      this.renderRadvdConf();
      // radvd re-reads its config on SIGHUP; a restart would first withdraw the route from hosts.
      radvd.signal('SIGHUP');
    }
  }

  private startEndpoints(): void {
    this.sys.remove(this.opts.statusSocket);
    this.statusServer = createServer((s) => {
      s.on('error', () => undefined);
      s.end(JSON.stringify(this.status()) + '\n');
    });
    this.statusServer.on('error', (err) => this.log.error({ err: err.message }, 'status endpoint failed'));
    this.statusServer.listen(this.opts.statusSocket);

    this.sys.remove(this.opts.hookSocket);
    this.hookServer = createServer((s) => {
      let data = '';
      s.on('error', () => undefined);
      s.on('data', (d) => {
        data += d.toString();
        if (data.length > 65536) s.destroy();
      });
      s.on('end', () => {
        try {
          const env = JSON.parse(data) as Record<string, string>;
          this.onHookReport(env);
          s.end('OK\n');
        } catch (err) {
          this.log.warn({ err: (err as Error).message }, 'bad report from the dhcpcd hook');
          s.end('FAIL\n');
        }
      });
    });
    this.hookServer.on('error', (err) => this.log.error({ err: err.message }, 'hook endpoint failed'));
    this.hookServer.listen(this.opts.hookSocket);
  }

  status(): InitStatus {
    return {
      agent: 'wifibox-init',
      version: VERSION,
      pid: process.pid,
      startedAt: this.startedAt.toISOString(),
      uptimeSec: Math.round((Date.now() - this.startedAt.getTime()) / 1000),
      flavor: this.plan.flavor,
      configDir: this.opts.confDir,
      problems: this.cfg.problems.map(formatProblem),
      steps: [...this.steps.values()].map((s) => ({ ...s, warnings: [...s.warnings] })),
      daemons: [...this.daemons.values()].map((d) => d.status()),
      lease: this.leaseState.lease,
      leaseEvent: this.leaseEvent,
      dns: this.leaseState.dns,
      udhcpd: this.udhcpdInfo,
      forwarding: { v4: this.kernelFlag('net/ipv4/ip_forward'), v6: this.kernelFlag('net/ipv6/conf/all/forwarding') },
    };
  }

  private kernelFlag(path: string): boolean | null {
    try {
      const v = this.sys.read(join(this.opts.procSys, path));
      return v === null ? null : v.trim() !== '0';
    } catch {
      return null;
    }
  }

  /** SIGTERM: daemons, addresses, firewall back to ACCEPT and forwarding off, then the wireless device. */
  async down(): Promise<void> {
    this.stopping = true;
    // Steps still under way (an address being added, rules committing) finish first, so what
    // they set is torn down too; waiting for wlan0 ends at once when stopping.
    await Promise.race([this.upDone.catch(() => undefined), new Promise((r) => setTimeout(r, 5000))]);
    await this.dnsWork;
    for (const name of ['radvd', 'dhcpcd', 'udhcpd']) await this.daemons.get(name)?.dispose();
    for (const a of [...this.addedAddresses].reverse()) {
      await this.sys.run([this.opts.tools.ip, `-${a.family}`, 'addr', 'del', a.cidr, 'dev', a.iface]);
    }
    // dhcpcd keeps the lease's address when it stops: a stopped guest keeps none.
    for (const i of this.cfg.interfaces) {
      if (i.inet?.method === 'dhcp' && this.sys.exists(join(this.opts.sysClassNet, i.name))) {
        await this.sys.run([this.opts.tools.ip, '-4', 'addr', 'flush', 'dev', i.name]);
      }
    }
    for (const [family, fw] of [[4, this.cfg.iptables], [6, this.cfg.ip6tables]] as const) {
      const keys = this.plan.steps.flatMap((st) => (st.action.kind === 'forwarding' && st.action.family === family ? st.action.entries : []));
      for (const e of keys) {
        try {
          this.sys.write(join(this.opts.procSys, sysctlPath(e.key)), '0\n');
        } catch {
          /* nothing to undo */
        }
      }
      if (fw) await this.flushFirewall(family, fw.text);
    }
    // Only when the guest shuts down (the service's stop leaves a flag then), as remove-wireless
    // ran only in the shutdown runlevel: a service restart must not take the card away.
    if (this.sys.exists(join(this.opts.runDir, 'release-wireless'))) await this.releaseWireless();
    this.statusServer?.close();
    this.hookServer?.close();
    this.sys.remove(this.opts.statusSocket);
    this.sys.remove(this.opts.hookSocket);
  }

  /** As the old iptables service stops: every table we loaded back to ACCEPT, flushed, no user chains. */
  private async flushFirewall(family: 4 | 6, text: string): Promise<void> {
    const tool = family === 4 ? this.opts.tools.iptables : this.opts.tools.ip6tables;
    const tables = [...text.matchAll(/^\*(\w+)/gm)].map((m) => m[1]!);
    for (const table of new Set(tables)) {
      for (const chain of FIREWALL_TABLE_CHAINS[table] ?? []) await this.sys.run([tool, '-w', '5', '-t', table, '-P', chain, 'ACCEPT']);
      await this.sys.run([tool, '-w', '5', '-t', table, '-F']);
      await this.sys.run([tool, '-w', '5', '-t', table, '-X']);
    }
  }

  /** As the old remove-wireless service: PCI devices with a wireless interface are removed. */
  private async releaseWireless(): Promise<void> {
    const devices = join(this.opts.sysBusPci, 'devices');
    for (const dev of this.sys.list(devices)) {
      const net = join(devices, dev, 'net');
      const wireless = this.sys.list(net).some((n) => this.sys.exists(join(net, n, 'wireless')) || this.sys.exists(join(net, n, 'phy80211')));
      if (!wireless) continue;
      try {
        this.sys.write(join(devices, dev, 'remove'), '1\n');
        this.log.info({ device: dev }, 'released the wireless PCI device');
      } catch (err) {
        this.log.warn({ device: dev, err: (err as Error).message }, 'cannot release the wireless PCI device');
      }
    }
  }
}
