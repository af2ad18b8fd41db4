// A host-side control client, as wpa_cli is one: a datagram socket bound to its own path that
// talks to the host socat's socket. UNIX sockets live in the file system, so the test process
// can use the host namespace's socket directly.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { openDatagramSocket, type DatagramSocket } from '../agents/common/unix-dgram';

let seq = 0;
const SEND_WAIT_LIMIT_MS = 60_000;
/**
 * How long wpa_cli waits for a reply: wpa_ctrl_request (hostap's src/common/wpa_ctrl.c) selects
 * for 10 s after its send. A reply within that is one the host's tools take; a later one is lost
 * for them too. A shorter wait here failed replies a loaded machine gave in 3-5 s.
 */
export const WPA_CTRL_REPLY_MS = 10_000;

export class HostClient {
  readonly events: string[] = [];
  private waiting: ((msg: string) => void) | null = null;
  private readonly sock: DatagramSocket;
  readonly path: string;

  constructor(
    dir: string,
    private readonly dest: string,
  ) {
    mkdirSync(dir, { recursive: true });
    this.path = join(dir, `c${process.pid}-${++seq}`);
    this.sock = openDatagramSocket((buf) => {
      const msg = buf.toString();
      if (/^<[0-9]>/.test(msg)) {
        this.events.push(msg);
        return;
      }
      const w = this.waiting;
      this.waiting = null;
      w?.(msg);
    });
    this.sock.bind(this.path);
  }

  /**
   * Sends one request and resolves with its reply, or null when none came within timeoutMs of
   * the send (by default as long as wpa_cli waits). The send itself waits for room in the host
   * socat's short queue (max_dgram_qlen, 10) as the blocking send of wpa_ctrl does, however slowly
   * socat forks on this machine.
   */
  async request(msg: string, timeoutMs = WPA_CTRL_REPLY_MS): Promise<string | null> {
    let answer: (m: string | null) => void = () => undefined;
    const reply = new Promise<string | null>((resolve) => (answer = resolve));
    // Listening before the send: a fast reply must not find nobody waiting.
    this.waiting = (m) => answer(m);
    await this.sendWhenRoom(Buffer.from(msg));
    const timer = setTimeout(() => {
      this.waiting = null;
      answer(null);
    }, timeoutMs);
    return reply.finally(() => clearTimeout(timer));
  }

  private async sendWhenRoom(msg: Buffer): Promise<void> {
    const giveUp = Date.now() + SEND_WAIT_LIMIT_MS;
    for (let pause = 1; ; pause = Math.min(pause * 2, 50)) {
      try {
        this.sock.send(msg, this.dest);
        return;
      } catch (err) {
        // A queue that never drains in a minute is a hung host socat, not a slow machine.
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN' || Date.now() > giveUp) throw err;
        await new Promise((r) => setTimeout(r, pause));
      }
    }
  }

  async waitEvent(pattern: RegExp, timeoutMs: number): Promise<string | null> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const e = this.events.find((m) => pattern.test(m));
      if (e) return e;
      await new Promise((r) => setTimeout(r, 20));
    }
    return null;
  }

  close(): void {
    this.sock.close();
    rmSync(this.path, { force: true });
  }
}
