// The DNS relay as one of wifibox-init's services: it listens on the guest's LAN addresses once
// the LAN interface is configured, and asks whatever servers the wireless network gave last (or
// the fixed ones of udhcpd.conf and radvd.conf while it gave none).
import type { RelayStatus, WirelessLease } from '../../common/status';
import { DnsRelay } from '../dns/relay';
import type { LanAddress } from '../dns/lan';
import type { LeaseState } from '../lease';
import type { GuestService, ServiceContext, WirelessChange } from './service';

const DNS_PORT = 53;
/** The cache's bound in bytes of answers, beside its bound in names (a few hundred bytes each). */
const CACHE_MAX_BYTES = 2 * 1024 * 1024;

/** The same wireless lease: the same network's DHCP server gave the same address and router. */
const sameLease = (a: WirelessLease | null, b: WirelessLease | null): boolean =>
  a === b || (a !== null && b !== null && a.iface === b.iface && a.server === b.server && a.address === b.address && a.router === b.router);

export class DnsRelayService implements GuestService {
  readonly name = 'dns-relay';
  private readonly relay: DnsRelay;

  constructor(private readonly ctx: ServiceContext) {
    const s = ctx.cfg.settings;
    this.relay = new DnsRelay(
      ctx.sys.relayNet,
      {
        port: DNS_PORT,
        upstreamPort: DNS_PORT,
        timeoutMs: s.relay_timeout * 1000,
        maxInFlight: s.relay_max_queries,
        cache: { names: s.cache, bytes: CACHE_MAX_BYTES },
      },
      ctx.log,
      () => ctx.sys.now(),
    );
  }

  async start(): Promise<void> {
    await this.relay.listen([this.ctx.lan.v4, this.ctx.lan.v6].filter((l): l is LanAddress => l !== null));
    this.follow(this.ctx.wireless());
  }

  private follow(w: LeaseState): void {
    const wireless = [...w.dns.dns, ...w.dns.dns6];
    const fallback = [...(this.ctx.cfg.udhcpd?.fixedDns ?? []), ...(this.ctx.cfg.radvd?.fixedDns ?? [])];
    if (wireless.length) this.relay.setServers(wireless, 'wireless');
    else this.relay.setServers(fallback, 'fallback');
  }

  async onWireless(c: WirelessChange): Promise<void> {
    // Another network (another lease, or none: wlan0 gone, the carrier lost on a roam): a captive
    // portal's answers, or the last network's, are not this one's.
    if (!sameLease(c.before.lease, c.after.lease)) this.relay.flushCache(c.after.lease ? 'another wireless lease' : 'no wireless lease');
    this.follow(c.after);
  }

  /** SIGHUP: the answers kept are forgotten. */
  flushCache(): void {
    this.relay.flushCache('SIGHUP');
  }

  async stop(): Promise<void> {
    this.relay.close();
  }

  daemon(): null {
    return null;
  }

  status(): RelayStatus {
    return this.relay.status();
  }
}
