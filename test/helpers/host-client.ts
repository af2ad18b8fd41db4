// A host-side control client, as wpa_cli is one: a datagram socket bound to its own path that
// talks to the host socat's socket. UNIX sockets live in the file system, so the test process
// can use the host namespace's socket directly.
import { mkdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { openDatagramSocket, type DatagramSocket } from '../../agents/common/unix-dgram';

let seq = 0;

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

  /** Sends one request and resolves with its reply, or null when none came in time. */
  async request(msg: string, timeoutMs = 3000): Promise<string | null> {
    const reply = new Promise<string | null>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting = null;
        resolve(null);
      }, timeoutMs);
      this.waiting = (m) => {
        clearTimeout(timer);
        resolve(m);
      };
    });
    // The host socat's queue is short (max_dgram_qlen): wait for room, as a blocking send would.
    for (let i = 0; ; i++) {
      try {
        this.sock.send(Buffer.from(msg), this.dest);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN' || i > 500) throw err;
        await new Promise((r) => setTimeout(r, 2));
      }
    }
    return reply;
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

/** Reads the passthru agent's status endpoint (one JSON document, then EOF). */
export function readStatus(path: string): Promise<any> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    let data = '';
    s.on('data', (d) => (data += d.toString()));
    s.on('end', () => {
      try {
        resolve(JSON.parse(data));
      } catch (err) {
        reject(err);
      }
    });
    s.on('error', reject);
  });
}
