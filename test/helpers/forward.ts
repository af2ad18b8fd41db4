// wifibox-forward on loopback for the unit tests: the agent on a temporary forwarding.conf, UDP
// peers and an echoing UDP target bound to 127.0.0.x, and free ports. No root.
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { DEFAULTS, ForwardAgent } from '../../agents/forward/agent';
import type { RelayLimits } from '../../agents/forward/relay';
import { realSystem, type ForwardSystem } from '../../agents/forward/system';
import { waitFor } from '../../lab/proc';

/** Ports free for both UDP and TCP on 127.0.0.1 right now. */
export async function freePorts(n: number): Promise<number[]> {
  const out: number[] = [];
  while (out.length < n) {
    const server = createServer();
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    const port = (server.address() as { port: number }).port;
    await new Promise((res) => server.close(res));
    const udp = createSocket('udp4');
    const ok = await new Promise<boolean>((res) => {
      udp.once('error', () => res(false));
      udp.bind(port, '127.0.0.1', () => res(true));
    });
    udp.close();
    if (ok && !out.includes(port)) out.push(port);
  }
  return out;
}

/** A UDP socket on 127.0.0.x that keeps what it receives. */
export class UdpPeer {
  readonly socket: Socket;
  readonly received: { text: string; from: string; port: number }[] = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('message', (m, r) => this.received.push({ text: m.toString(), from: r.address, port: r.port }));
  }

  static async bind(address: string, port = 0): Promise<UdpPeer> {
    const s = createSocket('udp4');
    await new Promise<void>((res) => s.bind(port, address, res));
    return new UdpPeer(s);
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(text: string | Buffer, port: number, address = '127.0.0.1'): void {
    this.socket.send(text, port, address);
  }

  /** Waits until `n` datagrams have come. */
  async waitFor(n: number, timeoutMs = 3000): Promise<UdpPeer['received']> {
    await waitFor(`${n} datagram(s)`, () => this.received.length >= n, timeoutMs, 5);
    return this.received;
  }

  close(): void {
    this.socket.close();
  }
}

/** A UDP target that answers every datagram with `<the sender's port>:<what it said>`. */
export async function echoTarget(address: string, port: number): Promise<UdpPeer> {
  const t = await UdpPeer.bind(address, port);
  t.socket.on('message', (m, r) => t.socket.send(`${r.port}:${m}`, r.port, r.address));
  return t;
}

export interface RunningAgent {
  agent: ForwardAgent;
  config: string;
  /** Writes forwarding.conf anew and reloads, as SIGHUP does. */
  reload(text: string): void;
  line(n: number): ReturnType<ForwardAgent['status']>['lines'][number];
  stop(): Promise<void>;
}

/** The agent on a forwarding.conf holding `text`, once every line listens (on `sys`: the real one by default). */
export async function startAgent(text: string, limits: Partial<RelayLimits> = {}, sys: ForwardSystem = realSystem): Promise<RunningAgent> {
  const dir = mkdtempSync(join(tmpdir(), 'wifibox-forward-'));
  const config = join(dir, 'forwarding.conf');
  writeFileSync(config, text);
  const agent = new ForwardAgent(
    { config, runDir: null, statusSocket: join(dir, 'status.sock'), user: null, limits: { ...DEFAULTS.limits, ...limits } },
    sys,
    pino({ level: 'silent' }),
  );
  await agent.start();
  await waitFor('every line to listen', () => agent.status().lines.every((l) => l.listening), 3000, 5);
  return {
    agent,
    config,
    reload(t) {
      writeFileSync(config, t);
      agent.reload();
    },
    line(n) {
      const l = agent.status().lines.find((x) => x.line === n);
      if (!l) throw new Error(`no line ${n} in ${JSON.stringify(agent.status().lines.map((x) => x.line))}`);
      return l;
    },
    async stop() {
      await agent.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
