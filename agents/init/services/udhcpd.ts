// udhcpd hands out addresses (to the host on eth0, or to wireless clients in the access-point
// flavor). Its config is a template: %%DNS%%, %%DOMAIN%% and %%SEARCH%% come from the wireless
// network, so it is rendered into the guest's /tmp and udhcpd restarted when they change.
import { join } from 'node:path';
import { renderUdhcpd } from '../config/udhcpd';
import type { LinkWatch, Timer } from '../system';
import { readLeaseFile, writeLeaseFile } from '../../common/udhcpd-leases';
import { GUEST_PATHS } from '../../common/paths';
import { leasesToRecord, neighboursOn, UDHCPD_DEFAULT_LEASE_SECONDS, withLeases, type HostLease } from './host-leases';
import { dnsChanged, firstLease, SupervisedDaemon, type ServiceContext, type WirelessChange } from './service';

/** With the relay, a restart for a new domain waits until udhcpd has run this long (see restartSettled). */
export const DOMAIN_RESTART_SETTLE_MS = 5000;

interface UdhcpdInfo {
  config: string;
  leaseSeconds: number | null;
  dnsKnown: boolean;
  renderedAt: string | null;
}

export class UdhcpdService extends SupervisedDaemon {
  private rendered: UdhcpdInfo | null = null;
  private pendingRestart: Timer | null = null;
  /** Hosts seen using an address udhcpd did not remember, whose lease was written (see host-leases.ts). */
  private readonly recorded: HostLease[] = [];
  private neighbours: LinkWatch | null = null;
  /** udhcpd's restarts, one after the other: a lease written while it runs would be lost. */
  private restarts: Promise<void> = Promise.resolve();

  constructor(ctx: ServiceContext) {
    super('udhcpd', ctx);
  }

  /** What it hands out now, for the status. */
  info(): UdhcpdInfo | null {
    return this.rendered ? { ...this.rendered } : null;
  }

  /**
   * Short leases only while the wireless DNS may still come: the station flavor before its first
   * lease, with a template that asks for it. An access point has no dhcpcd to wait for, and a
   * wireless lease without DNS will not get better by waiting.
   */
  private waitingForDns(): boolean {
    const w = this.ctx.wireless();
    const t = this.ctx.cfg.udhcpd!;
    return !this.ctx.relayOn && this.ctx.plan.steps.some((st) => st.id === 'dhcpcd') && t.placeholders.length > 0 && !w.lease && w.dns.dns.length === 0;
  }

  /** With the relay, hosts ask the guest itself, and the lease they get first is final. */
  private dnsHandedOut(): string[] {
    const lan = this.ctx.lan.v4;
    return this.ctx.relayOn && lan ? [lan.address] : this.ctx.wireless().dns.dns;
  }

  private render(): string {
    const t = this.ctx.cfg.udhcpd!;
    const { dns } = this.ctx.wireless();
    const known = !this.waitingForDns();
    const o = this.ctx.opts;
    let text = renderUdhcpd(t, { dns: this.dnsHandedOut(), domain: dns.domain, search: dns.search }, known ? {} : { leaseSeconds: o.shortLeaseSeconds });
    // busybox udhcpd writes its lease file every auto_time seconds (default 2 h) and on SIGTERM:
    // write it often, so hosts keep their addresses even when udhcpd is killed outright.
    if (!/^\s*auto_time\s/im.test(t.text)) text += `auto_time\t${o.leaseWriteSeconds}\n`;
    const path = join(o.tmpDir, 'udhcpd.conf');
    this.ctx.sys.writeAtomic(path, text);
    this.rendered = { config: path, leaseSeconds: known ? t.leaseSeconds : o.shortLeaseSeconds, dnsKnown: known, renderedAt: this.ctx.sys.now().toISOString() };
    return path;
  }

  protected prepare(): readonly string[] {
    // -a: busybox udhcpd waits up to 2 s for an ARP reply before offering an address; the host is
    // the only client on eth0, so 100 ms is plenty and its first lease comes sooner.
    return [this.ctx.opts.tools.udhcpd, '-f', '-a', '100', this.render()];
  }

  override async start(): Promise<void> {
    await super.start();
    // The station flavor's one host on eth0. An access point's clients are many and come and go:
    // recording each would restart udhcpd for every one.
    if (this.ctx.plan.flavor === 'station') {
      this.neighbours = this.ctx.sys.watchNeighbours(() => this.onNeighbours());
      this.onNeighbours();
    }
  }

  /**
   * A host that uses an address of udhcpd's range (it answered or asked ARP on udhcpd's interface)
   * while udhcpd's lease file has no lease for it or that address: udhcpd is stopped (SIGTERM: it
   * writes its leases first), the host's lease added to the file, and udhcpd started again to read
   * it, so the host's INIT-REBOOT request is ACKed rather than NAKed. Once per host and address.
   */
  private onNeighbours(): void {
    const t = this.ctx.cfg.udhcpd!;
    const arp = this.ctx.sys.read(this.ctx.opts.arpTable);
    if (arp === null || !this.supervisor) return;
    // busybox udhcpd's own default when its config names none.
    const file = t.leaseFile ?? GUEST_PATHS.udhcpdLeases;
    const readFile = () => readLeaseFile(this.ctx.sys.readBytes(file) ?? Buffer.alloc(0));
    const seen = neighboursOn(arp, t.interface);
    const fresh = leasesToRecord(seen, t, readFile().records, this.recorded);
    if (fresh.length === 0) return;
    this.recorded.push(...fresh);
    // udhcpd writes its file only now and then: a lease it gave a moment ago may be in it only
    // once it has stopped. Then nothing is added (at a first start: one restart, nothing lost).
    const write = () => {
      const now = Math.floor(this.ctx.sys.now().getTime() / 1000);
      const before = readFile();
      const add = leasesToRecord(fresh, t, before.records, []);
      if (add.length === 0) return;
      const seconds = this.rendered?.leaseSeconds ?? UDHCPD_DEFAULT_LEASE_SECONDS;
      this.ctx.sys.writeAtomic(file, writeLeaseFile(now, withLeases(before, add, now, seconds)));
      this.ctx.log.info({ hosts: add, leaseFile: file }, 'udhcpd keeps the address each host already uses (its lease written back)');
    };
    this.restart(write).catch((err: unknown) => this.ctx.log.error({ err }, "udhcpd: could not write the host's lease"));
  }

  /** Restarts udhcpd after any restart under way; `whileStopped` runs between its stop and its start. */
  private restart(whileStopped?: () => void): Promise<void> {
    const next = this.restarts.then(() => this.supervisor?.restart(whileStopped));
    this.restarts = next.catch(() => undefined);
    return next;
  }

  async onWireless(c: WirelessChange): Promise<void> {
    // With the relay, only the domain and search list are in udhcpd's hands (hosts take them at renewal).
    const changed = this.ctx.relayOn
      ? c.before.dns.domain !== c.after.dns.domain || c.before.dns.search.join(' ') !== c.after.dns.search.join(' ')
      : dnsChanged(c) || (firstLease(c) && this.rendered?.dnsKnown === false);
    if (!changed) return;
    this.render();
    const d = c.after.dns;
    if (this.ctx.relayOn) {
      this.restartSettled();
      this.ctx.log.info({ domain: d.domain, search: d.search }, "udhcpd will hand out the wireless network's domain");
      return;
    }
    // SIGTERM makes busybox udhcpd write its lease file first: hosts keep their addresses.
    await this.restart();
    this.ctx.log.info({ dns: d.dns, domain: d.domain }, "udhcpd now hands out the wireless network's DNS");
  }

  /**
   * A new domain reaches hosts only at their renewal, so its restart can wait. The wireless
   * network's first lease (and its domain) comes a moment after udhcpd started, just while the
   * host is getting its own lease: a restart then loses that exchange, and the host's client asks
   * again only a second or more later. So udhcpd restarts once it has run a few seconds; the
   * restart reads whatever was rendered last.
   */
  private restartSettled(): void {
    if (this.pendingRestart) return;
    const since = Date.parse(this.supervisor?.status().since ?? '');
    const wait = Number.isNaN(since) ? 0 : since + DOMAIN_RESTART_SETTLE_MS - this.ctx.sys.now().getTime();
    const restart = () => {
      this.pendingRestart = null;
      this.restart().catch((err: unknown) => this.ctx.log.error({ err }, 'udhcpd: restart for the new domain failed'));
    };
    if (wait <= 0) restart();
    else this.pendingRestart = this.ctx.sys.after(wait, restart);
  }

  override async stop(): Promise<void> {
    this.neighbours?.close();
    this.neighbours = null;
    this.pendingRestart?.cancel();
    this.pendingRestart = null;
    await super.stop();
  }
}
