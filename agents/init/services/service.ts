// The services wifibox-init drives (udhcpd, dhcpcd, radvd, the guest's resolv.conf), each one
// module with the same lifecycle, as netifd's protocol handlers have: start (render what it
// reads, run it), follow the wireless network when its lease or DNS changes, stop. The
// orchestrator schedules them and knows nothing of any one of them.
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { GuestConfig } from '../config';
import { sameDns, type LeaseState } from '../lease';
import type { InitOptions } from '../options';
import type { Plan } from '../plan';
import type { DaemonStatus } from '../../common/status';
import { Supervisor } from '../supervisor';
import type { InitSystem } from '../system';
import type { LanAddress } from '../dns/lan';

export interface WirelessChange {
  before: LeaseState;
  after: LeaseState;
}

export const dnsChanged = (c: WirelessChange): boolean => !sameDns(c.before.dns, c.after.dns);
export const firstLease = (c: WirelessChange): boolean => c.before.lease === null && c.after.lease !== null;

export interface GuestService {
  readonly name: string;
  start(): Promise<void>;
  /** The wireless lease or DNS changed: bring what this service hands out up to date. */
  onWireless(change: WirelessChange): Promise<void>;
  /** Stops it for good (teardown). */
  stop(): Promise<void>;
  /** Its process, when it is a supervised daemon. */
  daemon(): DaemonStatus | null;
}

export interface ServiceContext {
  opts: InitOptions;
  cfg: GuestConfig;
  plan: Plan;
  sys: InitSystem;
  log: Logger;
  /** What the wireless network's DHCP said last. */
  wireless(): LeaseState;
  /** Told of each process a daemon starts, so a later wifibox-init can stop what this one left. */
  onSpawn(name: string, pid: number, takeover: NodeJS.Signals): void;
  /** The guest's own addresses on the LAN side (from interfaces.conf), where the DNS relay answers. */
  lan: { v4: LanAddress | null; v6: LanAddress | null };
  /** The DNS relay runs: hosts are told the guest's own address as their DNS server. */
  relayOn: boolean;
}

/** A daemon run and restarted by a Supervisor; subclasses say what it reads and how it starts. */
export abstract class SupervisedDaemon implements GuestService {
  protected supervisor: Supervisor | null = null;

  constructor(
    readonly name: string,
    protected readonly ctx: ServiceContext,
  ) {}

  /** Writes the files the daemon reads and returns its argv. */
  protected abstract prepare(): readonly string[];

  /** When it exits on its own: a reason it must not be restarted now, or null (restart it). */
  protected holdReason(): string | null {
    return null;
  }

  /** How a later wifibox-init, taking over from a killed one, stops this daemon. */
  protected takeoverSignal(): NodeJS.Signals {
    return 'SIGTERM';
  }

  /** After each exit of its process: what it leaves behind when killed outright. */
  protected afterExit(): void {
    // Most daemons leave nothing.
  }

  async start(): Promise<void> {
    const argv = this.prepare();
    this.supervisor = new Supervisor(this.name, argv, this.ctx.sys, this.ctx.log, join(this.ctx.opts.runDir, `${this.name}.out`), {
      onSpawn: (pid) => this.ctx.onSpawn(this.name, pid, this.takeoverSignal()),
      holdReason: () => this.holdReason(),
      afterExit: () => this.afterExit(),
    });
    this.supervisor.start();
  }

  async onWireless(_change: WirelessChange): Promise<void> {
    // Most daemons do not care what the wireless network says.
  }

  async stop(): Promise<void> {
    await this.supervisor?.dispose();
  }

  daemon(): DaemonStatus | null {
    return this.supervisor?.status() ?? null;
  }
}
