// The init orchestrator: runs the plan's steps (scheduler.ts) with one executor per action
// (actions.ts), starts the services those steps name (services/), tells them when the wireless
// network's lease or DNS changes, reports, and on stop takes back what was applied, newest first.
import { join } from 'node:path';
import type { Logger } from 'pino';
import { VERSION } from '../common/cli';
import { formatProblem } from '../common/problems';
import type { DaemonStatus, InitStatus } from '../common/status';
import { applyAction, type ActionContext, type ServiceAction } from './actions';
import type { GuestConfig } from './config';
import { serveEndpoints } from './endpoints';
import { applyHookReport, emptyLeaseState, type LeaseState } from './lease';
import type { InitOptions } from './options';
import { releaseWirelessDevices } from './pci';
import type { Plan } from './plan';
import { StepScheduler } from './scheduler';
import { DhcpcdService } from './services/dhcpcd';
import { DnsRelayService } from './services/dns-relay';
import { RadvdService } from './services/radvd';
import { DaemonRecords } from './services/records';
import { ResolvConfService } from './services/resolv-conf';
import type { GuestService, ServiceContext } from './services/service';
import { UdhcpdService } from './services/udhcpd';
import type { InitSystem, Served, Timer } from './system';
import { Teardown } from './teardown';

export type { InitOptions } from './options';

const FIRST_FOLLOW_RETRY_MS = 1000;
const MAX_FOLLOW_RETRY_MS = 30_000;

/** How long stopping waits for a step under way (an address being added, rules committing). */
const STEP_FINISH_MS = 5000;

export class Orchestrator {
  private readonly teardown = new Teardown();
  private readonly scheduler: StepScheduler;
  private readonly records: DaemonRecords;
  private readonly ctx: ServiceContext;
  /** The services started so far, the guest's resolv.conf first; each gets every wireless change. */
  private readonly services: GuestService[];
  private wireless: LeaseState = emptyLeaseState();
  private leaseEvent: InitStatus['leaseEvent'] = null;
  private wirelessWork: Promise<void> = Promise.resolve();
  /** What each service last brought itself up to; one that failed is tried again (retryTimer). */
  private readonly followed = new Map<GuestService, LeaseState>();
  private retryTimer: Timer | null = null;
  private retryMs = FIRST_FOLLOW_RETRY_MS;
  private endpoints: Served[] = [];
  private readonly startedAt: Date;

  constructor(
    private readonly cfg: GuestConfig,
    private readonly plan: Plan,
    private readonly opts: InitOptions,
    private readonly sys: InitSystem,
    private readonly log: Logger,
  ) {
    this.startedAt = sys.now();
    const { dhcpcd, udhcpd, radvd } = opts.tools;
    this.records = new DaemonRecords(sys, opts.runDir, log, { dhcpcd, udhcpd, radvd });
    const lan = cfg.interfaces.find((i) => i.name === opts.lanInterface);
    this.ctx = {
      opts,
      cfg,
      plan,
      sys,
      log,
      wireless: () => this.wireless,
      onSpawn: (name, pid, takeover) => this.records.record(name, pid, takeover),
      lan: {
        v4: lan?.inet?.method === 'static' ? { address: lan.inet.address, prefixLength: lan.inet.prefixLength } : null,
        v6: lan?.inet6 ? { address: lan.inet6.address, prefixLength: lan.inet6.prefixLength } : null,
      },
      relayOn: plan.steps.some((s) => s.id === 'dns-relay'),
    };
    this.services = [new ResolvConfService(this.ctx)];
    for (const s of this.services) this.followed.set(s, this.wireless);
    const actions: ActionContext = {
      opts,
      cfg,
      sys,
      log,
      teardown: this.teardown,
      startService: (action) => this.startService(action),
      stopping: () => this.scheduler.stopping,
      whenStopping: (fn) => this.scheduler.whenStopping(fn),
    };
    this.scheduler = new StepScheduler(
      plan,
      (step) => applyAction(step.action, actions),
      log,
      () => sys.now(),
    );
  }

  /** Stops what a killed predecessor left, serves the endpoints, then runs every step. */
  async up(): Promise<void> {
    let removed: string | null;
    try {
      removed = this.sys.makePrivateDir(this.opts.runDir);
    } catch (err) {
      // Under supervise-daemon stderr goes nowhere: the reason it will not start goes to syslog.
      this.log.fatal({ path: this.opts.runDir, err: (err as Error).message }, 'cannot use the run folder; not starting');
      throw err;
    }
    if (removed) this.log.warn({ path: this.opts.runDir }, `run folder: ${removed}`);
    await this.records.reap();
    this.endpoints = serveEndpoints(
      this.sys,
      { status: this.opts.statusSocket, hook: this.opts.hookSocket },
      {
        status: () => this.status(),
        hookReport: (env) => this.onHookReport(env),
      },
      this.log,
    );
    await this.scheduler.run();
  }

  private async startService(action: ServiceAction): Promise<() => Promise<void>> {
    const make: Record<ServiceAction['service'], () => GuestService> = {
      udhcpd: () => new UdhcpdService(this.ctx),
      radvd: () => new RadvdService(this.ctx),
      dhcpcd: () => new DhcpcdService(this.ctx, action.iface),
      'dns-relay': () => new DnsRelayService(this.ctx),
    };
    const service = make[action.service]();
    await service.start();
    this.services.push(service);
    this.followed.set(service, this.wireless);
    return () => service.stop();
  }

  /** A report from our dhcpcd hook: every service brings itself up to date, one change at a time. */
  onHookReport(env: Record<string, string>): void {
    const before = this.wireless;
    const after = applyHookReport(before, env, this.sys.now());
    this.wireless = after;
    if (env.reason) this.leaseEvent = { reason: env.reason, at: this.sys.now().toISOString() };
    this.log.info({ reason: env.reason, address: after.lease?.address, dns: after.dns.dns }, 'wireless lease report');
    this.followWireless();
  }

  /**
   * Every service brings itself up to the latest wireless state, from the one it last reached. One
   * that fails (a full /tmp, a daemon that would not restart) is tried again later, with backoff,
   * rather than waiting for the next change of the wireless network.
   */
  private followWireless(): void {
    this.retryTimer?.cancel();
    this.retryTimer = null;
    this.wirelessWork = this.wirelessWork.then(async () => {
      if (this.scheduler.stopping) return;
      const after = this.wireless;
      let failed = 0;
      for (const s of [...this.services]) {
        const before = this.followed.get(s) ?? after;
        if (before === after) continue;
        try {
          await s.onWireless({ before, after });
          this.followed.set(s, after);
        } catch (err) {
          failed++;
          this.log.error({ service: s.name, err: (err as Error).message, retryInMs: this.retryMs }, 'could not follow the wireless network; trying again');
        }
      }
      if (failed === 0 || this.scheduler.stopping) {
        this.retryMs = FIRST_FOLLOW_RETRY_MS;
        return;
      }
      this.retryTimer = this.sys.after(this.retryMs, () => this.followWireless());
      this.retryMs = Math.min(this.retryMs * 2, MAX_FOLLOW_RETRY_MS);
    });
  }

  /** SIGHUP: the DNS relay forgets the answers it kept (the network part reads no files again). */
  reload(): void {
    this.services.find((s): s is DnsRelayService => s instanceof DnsRelayService)?.flushCache();
  }

  status(): InitStatus {
    const now = this.sys.now();
    const udhcpd = this.services.find((s): s is UdhcpdService => s instanceof UdhcpdService);
    const relay = this.services.find((s): s is DnsRelayService => s instanceof DnsRelayService);
    return {
      agent: 'wifibox-init',
      version: VERSION,
      pid: process.pid,
      startedAt: this.startedAt.toISOString(),
      uptimeSec: Math.round((now.getTime() - this.startedAt.getTime()) / 1000),
      flavor: this.plan.flavor,
      configDir: this.opts.confDir,
      problems: this.cfg.problems.map(formatProblem),
      steps: this.scheduler.statuses(),
      daemons: this.services.map((s) => s.daemon()).filter((d): d is DaemonStatus => d !== null),
      lease: this.wireless.lease,
      leaseEvent: this.leaseEvent,
      dns: this.wireless.dns,
      udhcpd: udhcpd?.info() ?? null,
      forwarding: { v4: this.kernelFlag('net/ipv4/ip_forward'), v6: this.kernelFlag('net/ipv6/conf/all/forwarding') },
      dnsRelay: relay?.status() ?? null,
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

  /**
   * SIGTERM: steps under way finish first (so what they set is taken back too), then everything
   * applied is undone newest first; the wireless device is released only when the guest shuts down.
   */
  async down(): Promise<void> {
    await this.scheduler.stop(STEP_FINISH_MS, (ms) => this.sys.sleep(ms));
    this.retryTimer?.cancel();
    await this.wirelessWork;
    await this.teardown.unwind(this.log);
    // The service's stop leaves this flag only when the guest shuts down, as remove-wireless ran
    // only in the shutdown runlevel: a service restart must not take the card away.
    if (this.sys.exists(join(this.opts.runDir, 'release-wireless'))) releaseWirelessDevices(this.sys, this.opts.sysBusPci, this.log);
    for (const e of this.endpoints) e.close();
  }
}
