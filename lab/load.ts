// Steady load from the host, as the fault suite and the soak apply it: control clients that each
// ask wpa_supplicant for their own network's ssid over and over (through the host's socat and the
// passthru agent), and a probe that fetches a page from the wireless network through the guest's
// NAT every PROBE_EVERY_MS, so the longest time without service can be read afterwards.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { clientSsid } from './guest-files';
import { HostClient } from './host-client';
import type { Lab } from './lab';
import { sleep, type LabProcess } from './proc';

export interface LoadCounts {
  /** Replies that were the client's own. */
  ok: number;
  /** Replies meant for someone else: never allowed. */
  wrong: number;
  /** FAIL from the daemon (it is starting) or no reply in time (a restart): allowed during a fault. */
  failed: number;
  noReply: number;
  /** The first few wrong replies, to say what went wrong. */
  samples: string[];
}

const REQUEST_TIMEOUT_MS = 2000;
const RETRY_PAUSE_MS = 50;
const PROBE_EVERY_MS = 50;

export class ControlLoad {
  private readonly clients: HostClient[] = [];
  private running = false;
  private loops: Promise<void>[] = [];
  readonly counts: LoadCounts = { ok: 0, wrong: 0, failed: 0, noReply: 0, samples: [] };

  constructor(
    lab: Lab,
    /** The host socat's socket the clients talk to. */
    dest: string,
    size: number,
    /** Each client's pause after a reply before its next request (0: at once, a flood). */
    private readonly paceMs = 0,
  ) {
    for (let i = 0; i < size; i++) this.clients.push(new HostClient(join(lab.dir, 'load-clients'), dest));
  }

  start(): void {
    this.running = true;
    this.loops = this.clients.map((c, i) => this.loop(c, i));
  }

  private async loop(c: HostClient, i: number): Promise<void> {
    const want = `"${clientSsid(i)}"`;
    while (this.running) {
      let sent = true;
      const reply = await c.request(`GET_NETWORK ${i + 1} ssid`, REQUEST_TIMEOUT_MS).catch(() => {
        sent = false; // the host socat's socket is not there (restarting): not even sent
        return null;
      });
      if (reply === null || reply === 'FAIL\n') {
        if (reply === null) this.counts.noReply++;
        else this.counts.failed++;
        // What fails at once must not spin: a real client waits before it asks again too.
        if (!sent || reply !== null) await sleep(RETRY_PAUSE_MS);
      } else {
        if (reply === want) this.counts.ok++;
        else {
          this.counts.wrong++;
          if (this.counts.samples.length < 5) this.counts.samples.push(`client ${i} wanted ${want}, got ${JSON.stringify(reply.slice(0, 80))}`);
        }
        if (this.paceMs) await sleep(this.paceMs);
      }
    }
  }

  /** How many replies were right so far (for waiting until service is back). */
  get ok(): number {
    return this.counts.ok;
  }

  async stop(): Promise<LoadCounts> {
    this.running = false;
    await Promise.all(this.loops);
    for (const c of this.clients) c.close();
    return { ...this.counts, samples: [...this.counts.samples] };
  }
}

/** The probe's code: one GET at a time, 1 s timeout; prints the time of each answer that came through the NAT. */
function probeCode(url: string, want: string): string {
  return `const http = require('node:http');
function attempt() {
  const started = Date.now();
  const again = () => setTimeout(attempt, Math.max(0, ${PROBE_EVERY_MS} - (Date.now() - started)));
  const req = http.get(${JSON.stringify(url)}, { timeout: 1000, agent: false }, (res) => {
    let body = '';
    res.on('data', (c) => (body += c));
    res.on('end', () => {
      if (body.trim() === ${JSON.stringify(want)}) process.stdout.write(Date.now() + '\\n');
      again();
    });
  });
  req.on('timeout', () => req.destroy());
  req.on('error', again);
}
attempt();`;
}

/** The host's reach of the wireless network, sampled every PROBE_EVERY_MS. */
export class ReachProbe {
  private readonly proc: LabProcess;
  /** Its answers so far, and how far its log has been read: it is polled every 20 ms and grows all run. */
  private readonly times: number[] = [];
  private readBytes = 0;

  constructor(private readonly lab: Lab) {
    this.proc = lab.startInHost('reach-probe', [process.execPath, '-e', probeCode(`http://${lab.addr.air}:8080/`, lab.addr.guestWlan0)]);
  }

  private answers(): number[] {
    let fd: number;
    try {
      fd = openSync(this.proc.log, 'r');
    } catch {
      return this.times; // not written yet
    }
    try {
      const added = Buffer.alloc(Math.max(0, fstatSync(fd).size - this.readBytes));
      const n = readSync(fd, added, 0, added.length, this.readBytes);
      // Whole lines only: a line still being written is read next time.
      const text = added.subarray(0, n).toString('latin1');
      const whole = text.lastIndexOf('\n') + 1;
      this.readBytes += whole;
      for (const l of text.slice(0, whole).split('\n')) if (/^\d+$/.test(l)) this.times.push(Number(l));
    } finally {
      closeSync(fd);
    }
    return this.times;
  }

  /** The first answer at or after `since` (ms since 1970), or null. */
  firstAnswerAfter(since: number): number | null {
    return this.answers().find((t) => t >= since) ?? null;
  }

  /**
   * The longest time the host went without an answer around [from, to] (ms since 1970): from the
   * last answer before `from` (or `from`) to `to`, the widest space between two answers.
   */
  longestGap(from: number, to: number): number {
    const all = this.answers();
    const before = all.filter((t) => t < from).at(-1) ?? from;
    const inside = [before, ...all.filter((t) => t >= from && t <= to), to];
    let gap = 0;
    for (let i = 1; i < inside.length; i++) gap = Math.max(gap, inside[i]! - inside[i - 1]!);
    return gap;
  }

  stop(): Promise<void> {
    return this.lab.stop(this.proc);
  }
}
