// radvd advertises the IPv6 routes (IPv6 overlay) with the wireless network's IPv6 DNS in its
// RDNSS: radvd.conf is a template, rendered into the guest's /tmp.
import { join } from 'node:path';
import { renderRadvd } from '../config/radvd';
import { SupervisedDaemon, type ServiceContext, type WirelessChange } from './service';

export class RadvdService extends SupervisedDaemon {
  constructor(ctx: ServiceContext) {
    super('radvd', ctx);
  }

  private render(): string {
    const path = join(this.ctx.opts.tmpDir, 'radvd.conf');
    const lan = this.ctx.lan.v6;
    // With the relay, hosts ask the guest itself (its LAN inet6 address) for good.
    const dns6 = this.ctx.relayOn && lan ? [lan.address] : this.ctx.wireless().dns.dns6;
    this.ctx.sys.writeAtomic(path, renderRadvd(this.ctx.cfg.radvd!, dns6));
    return path;
  }

  private get pidFile(): string {
    return join(this.ctx.opts.runDir, 'radvd.pid');
  }

  protected prepare(): readonly string[] {
    this.afterExit();
    return [this.ctx.opts.tools.radvd, '-n', '-C', this.render(), '-p', this.pidFile];
  }

  /**
   * radvd opens its pid file following a symlink: none may be waiting for it there, from a crash
   * or planted. Removed before each start (unlinked, never followed).
   */
  protected afterExit(): void {
    this.ctx.sys.remove(this.pidFile);
  }

  async onWireless(c: WirelessChange): Promise<void> {
    if ((this.ctx.relayOn && this.ctx.lan.v6) || c.before.dns.dns6.join(' ') === c.after.dns.dns6.join(' ')) return;
    this.render();
    // radvd re-reads its config on SIGHUP; a restart would first withdraw the route from hosts.
    this.supervisor?.signal('SIGHUP');
  }
}
