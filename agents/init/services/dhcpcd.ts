// dhcpcd gets the wireless interface's address. It reports every event through our hook (dhcpcd
// -c), which tells the orchestrator; what follows from a new lease is the other services'. The
// interface may vanish (a card reset on resume): dhcpcd is then stopped cleanly, and started
// again the moment the interface is back, without any backoff. The kernel tells of links coming
// and going (rtnetlink): nothing is polled, and at rest nothing wakes.
import { join } from 'node:path';
import type { LinkWatch } from '../system';
import { SupervisedDaemon, type ServiceContext } from './service';

export class DhcpcdService extends SupervisedDaemon {
  private watch: LinkWatch | null = null;
  private present = true;
  private stopped = false;
  /** A look at the link is under way; `again`: another event came meanwhile, so look once more. */
  private checking = false;
  private again = false;

  constructor(
    ctx: ServiceContext,
    private readonly iface: string,
  ) {
    super('dhcpcd', ctx);
  }

  protected prepare(): readonly string[] {
    const o = this.ctx.opts;
    const s = this.ctx.cfg.settings;
    // The lease in a fraction of a second: no ARP probe of the offered address (about 2 s), no
    // random start delay, and a two-message exchange where the server agrees. A user's
    // dhcpcd.conf still applies; these are added to it.
    const fast = [...(s.arp_probe ? [] : ['--noarp']), ...(s.start_delay ? [] : ['--nodelay']), ...(s.rapid_commit ? ['--option', 'rapid_commit'] : [])];
    // -e: the hook learns where to report from its environment, whatever --run-dir says.
    return [
      o.tools.dhcpcd,
      '-B',
      ...fast,
      '-c',
      o.hookPath,
      '-e',
      `WIFIBOX_HOOK_SOCKET=${o.hookSocket}`,
      ...(this.ctx.cfg.dhcpcdConf ? ['-f', this.ctx.cfg.dhcpcdConf] : []),
      this.iface,
    ];
  }

  private get gone(): string {
    return `${this.iface} is gone; waiting for it to come back`;
  }

  /**
   * A new wifibox-init (the old one was killed) stops the old dhcpcd with SIGKILL: stopped cleanly,
   * it would take the lease's address and routes away, and the host would lose the wireless network
   * until the new dhcpcd has the lease again. Killed, it leaves them, and the new one keeps them.
   */
  protected takeoverSignal(): NodeJS.Signals {
    return 'SIGKILL';
  }

  /**
   * dhcpcd exits by itself when the interface goes ("removing interface"), often before the next
   * look at it: not a crash. The interface counts as gone from here, so its return starts dhcpcd.
   */
  protected holdReason(): string | null {
    if (this.ctx.sys.exists(join(this.ctx.opts.sysClassNet, this.iface))) return null;
    this.present = false;
    return this.gone;
  }

  /**
   * dhcpcd removes its control sockets and pid file when it stops; killed outright, it leaves them
   * (a new dhcpcd would replace them, but nothing is to be left behind meanwhile).
   */
  protected afterExit(): void {
    for (const f of [`${this.iface}.sock`, `${this.iface}.unpriv.sock`, `${this.iface}.pid`]) this.ctx.sys.remove(join(this.ctx.opts.dhcpcdRunDir, f));
  }

  async start(): Promise<void> {
    // Watching before the first look: a change between the two is not missed.
    this.watch = this.ctx.sys.watchLinks(() => void this.onLinkEvent());
    await super.start();
    this.present = this.ctx.sys.exists(join(this.ctx.opts.sysClassNet, this.iface));
    void this.onLinkEvent();
  }

  /** One look at a time, in order: the interface's last state is the one acted on. */
  private async onLinkEvent(): Promise<void> {
    if (this.checking) {
      this.again = true;
      return;
    }
    this.checking = true;
    try {
      do {
        this.again = false;
        await this.checkLink();
      } while (this.again && !this.stopped);
    } finally {
      this.checking = false;
    }
  }

  private async checkLink(): Promise<void> {
    const present = this.ctx.sys.exists(join(this.ctx.opts.sysClassNet, this.iface));
    if (present === this.present || this.stopped) return;
    this.present = present;
    if (!present) {
      this.ctx.log.warn({ iface: this.iface }, `${this.iface} is gone; dhcpcd stopped until it is back`);
      await this.supervisor?.hold(this.gone);
      return;
    }
    this.ctx.log.info({ iface: this.iface }, `${this.iface} is back; starting dhcpcd`);
    const r = await this.ctx.sys.run([this.ctx.opts.tools.ip, 'link', 'set', this.iface, 'up']);
    if (r.code !== 0) this.ctx.log.warn({ iface: this.iface, err: r.stderr.trim() }, `cannot bring ${this.iface} up`);
    if (!this.stopped) this.supervisor?.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.watch?.close();
    await super.stop();
  }
}
