// The guest's own /etc/resolv.conf, written from what the wireless network's DHCP said.
import { renderResolvConf } from '../lease';
import { dnsChanged, type GuestService, type ServiceContext, type WirelessChange } from './service';

export class ResolvConfService implements GuestService {
  readonly name = 'resolv.conf';

  constructor(private readonly ctx: ServiceContext) {}

  async start(): Promise<void> {
    // Nothing to say before the wireless network has said something.
  }

  async onWireless(c: WirelessChange): Promise<void> {
    if (!dnsChanged(c)) return;
    try {
      this.ctx.sys.write(this.ctx.opts.resolvConf, renderResolvConf(c.after.dns));
    } catch (err) {
      this.ctx.log.warn({ path: this.ctx.opts.resolvConf, err: (err as Error).message }, 'cannot write resolv.conf');
    }
  }

  async stop(): Promise<void> {
    // The file stays as the last network left it.
  }

  daemon(): null {
    return null;
  }
}
