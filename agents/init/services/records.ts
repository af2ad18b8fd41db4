// Each daemon's process group, by PID and start time, in the run folder: a wifibox-init killed
// outright (supervise-daemon then starts a new one) leaves its daemons running, holding udhcpd's
// port and dhcpcd's lock; the next one stops exactly those, and never signals another process.
import { basename, join } from 'node:path';
import type { Logger } from 'pino';
import type { InitSystem } from '../system';

interface DaemonRecord {
  pid: number;
  start: string;
  /** How a later wifibox-init stops it: SIGTERM, or SIGKILL where stopping cleanly would undo what it set up. */
  takeover?: NodeJS.Signals;
}

type Known = Record<string, DaemonRecord>;

/** /proc/PID/comm of a program started by its path: the file name, cut to the kernel's 15 bytes. */
const commOf = (program: string): string => basename(program).slice(0, 15);

export class DaemonRecords {
  constructor(
    private readonly sys: InitSystem,
    private readonly runDir: string,
    private readonly log: Logger,
    /** The program each daemon is run with (dhcpcd → its path): a record's process must be running it. */
    private readonly programs: Readonly<Record<string, string>>,
  ) {}

  private get file(): string {
    return join(this.runDir, 'daemons.json');
  }

  private read(): Known {
    try {
      const known: unknown = JSON.parse(this.sys.readOwn(this.file) ?? '{}');
      return known !== null && typeof known === 'object' ? (known as Known) : {};
    } catch (err) {
      this.log.warn({ path: this.file, err: (err as Error).message }, 'the record of daemons is ignored');
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
   * still the same processes. The recorded process must still be the one started (its start time)
   * and run the program this agent runs under that name: a record naming any other process, planted
   * or garbled, gets no signal.
   */
  async reap(): Promise<void> {
    for (const [name, { pid, start, takeover }] of Object.entries(this.read())) {
      const program = Object.hasOwn(this.programs, name) ? this.programs[name] : undefined;
      if (program === undefined || !Number.isInteger(pid) || pid <= 1 || typeof start !== 'string' || start === '') continue;
      const same = () => this.sys.processStart(pid) === start && this.sys.processName(pid) === commOf(program);
      if (!same()) continue;
      this.log.warn({ daemon: name, pid }, 'stopping a daemon a previous wifibox-init left running');
      const members = this.sys.processGroup(pid);
      if (!same()) continue;
      this.sys.killGroup(pid, takeover === 'SIGKILL' ? 'SIGKILL' : 'SIGTERM');
      for (let i = 0; i < 40 && same(); i++) await this.sys.sleep(50);
      for (const m of members) if (this.sys.processStart(m.pid) === m.start) this.sys.kill(m.pid, 'SIGKILL');
    }
    this.sys.remove(this.file);
  }
}
