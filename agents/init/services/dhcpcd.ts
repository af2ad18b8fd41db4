// dhcpcd gets wlan0's address from the wireless network. It reports every event through our hook
// (dhcpcd -c), which tells the orchestrator; what follows from a new lease is the other services'.
import { SupervisedDaemon, type ServiceContext } from './service';

export class DhcpcdService extends SupervisedDaemon {
  constructor(
    ctx: ServiceContext,
    private readonly iface: string,
  ) {
    super('dhcpcd', ctx);
  }

  protected prepare(): readonly string[] {
    const o = this.ctx.opts;
    // -e: the hook learns where to report from its environment, whatever --run-dir says.
    return [o.tools.dhcpcd, '-B', '-c', o.hookPath, '-e', `WIFIBOX_HOOK_SOCKET=${o.hookSocket}`,
      ...(this.ctx.cfg.dhcpcdConf ? ['-f', this.ctx.cfg.dhcpcdConf] : []), this.iface];
  }
}
