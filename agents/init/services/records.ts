// Each daemon's process group, by PID and start time, in the run folder: a wifibox-init killed
// outright (supervise-daemon then starts a new one) leaves its daemons running, holding udhcpd's
// port and dhcpcd's lock; the next one stops exactly those, and never signals another process.
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { InitSystem } from '../system';

interface DaemonRecord {
  pid: number;
  start: string;
  /** How a later wifibox-init stops it: SIGTERM, or SIGKILL where stopping cleanly would undo what it set up. */
  takeover?: NodeJS.Signals;
}

type Known = Record<string, DaemonRecord>;

export class DaemonRecords {
  constructor(
    private readonly sys: InitSystem,
    private readonly runDir: string,
    private readonly log: Logger,
  ) {}

  private get file(): string {
    return join(this.runDir, 'daemons.json');
  }

  private read(): Known {
    try {
      return JSON.parse(this.sys.read(this.file) ?? '{}') as Known;
    } catch {
      return {};
    }
  }

  record(name: string, pid: number, takeover: NodeJS.Signals = 'SIGTERM'): void {
    const known = this.read();
    known[name] = { pid, start: this.sys.processStart(pid) ?? '', takeover };
    this.sys.writeAtomic(this.file, JSON.stringify(known));
  }

  /**
   * Stops what a previous wifibox-init left. Its group is listed while its leader is still the
   * recorded process, so every member is its own (dhcpcd's privsep helpers); the signal the daemon
   * was recorded with goes to the group then, and SIGKILL later only to those members that are
   * still the same processes.
   */
  async reap(): Promise<void> {
    for (const [name, { pid, start, takeover }] of Object.entries(this.read())) {
      const same = () => start !== '' && this.sys.processStart(pid) === start;
      if (!same()) continue;
      this.log.warn({ daemon: name, pid }, 'stopping a daemon a previous wifibox-init left running');
      const members = this.sys.processGroup(pid);
      if (!same()) continue;
      this.sys.killGroup(pid, takeover ?? 'SIGTERM');
      for (let i = 0; i < 40 && same(); i++) await this.sys.sleep(50);
      for (const m of members) if (this.sys.processStart(m.pid) === m.start) this.sys.kill(m.pid, 'SIGKILL');
    }
    this.sys.remove(this.file);
  }
}
