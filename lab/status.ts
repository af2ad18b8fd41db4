// The agents' status endpoints in the guest: UNIX stream sockets that send one JSON document,
// then EOF. The documents are the agents' status types (agents/common/status.ts); the helpers
// below find one entry in them and throw, naming what is missing, when it is not there.
import { connect } from 'node:net';
import { GUEST_PATHS } from '../agents/common/paths';
import type { DaemonStatus, ForwardLineStatus, ForwardStatus, InitStatus, PassthruStatus, PortStatus, RelayStatus, StepStatus } from '../agents/common/status';

/** A status document as sent: a JSON object, its fields not yet known. */
type StatusDocument = Record<string, unknown>;

/** Reads a status endpoint; rejects when it cannot, or (with timeoutMs) when it stays silent that long. */
export function readStatus(path: string, timeoutMs?: number): Promise<StatusDocument> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    let data = '';
    if (timeoutMs !== undefined) s.setTimeout(timeoutMs, () => s.destroy(new Error(`${path}: no answer within ${timeoutMs} ms`)));
    s.on('data', (d) => (data += d.toString()));
    s.on('end', () => {
      try {
        const doc: unknown = JSON.parse(data);
        if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error(`${path}: not a JSON object: ${data.slice(0, 200)}`);
        resolve(doc as StatusDocument);
      } catch (err) {
        reject(err);
      }
    });
    s.on('error', reject);
  });
}

/** Anything with a way into the guest's files: a Lab. */
interface Guest {
  guestPath(p: string): string;
}

// What the agent at each socket writes. Taken as its type, not checked field by field: the
// tests check the fields they read.
const typed = async <T>(doc: Promise<StatusDocument>): Promise<T> => (await doc) as unknown as T;

export const initStatus = (lab: Guest, timeoutMs?: number): Promise<InitStatus> => typed(readStatus(lab.guestPath(GUEST_PATHS.initStatusSocket), timeoutMs));
/** `socket`: a second wifibox-passthru started with its own --status-socket. */
export const passthruStatus = (lab: Guest, timeoutMs?: number, socket: string = GUEST_PATHS.passthruStatusSocket): Promise<PassthruStatus> =>
  typed(readStatus(lab.guestPath(socket), timeoutMs));
export const forwardStatus = (lab: Guest, timeoutMs?: number): Promise<ForwardStatus> =>
  typed(readStatus(lab.guestPath(GUEST_PATHS.forwardStatusSocket), timeoutMs));

function found<T>(entry: T | undefined, what: string): T {
  if (entry === undefined) throw new Error(`no ${what}`);
  return entry;
}

/** One daemon's entry (dhcpcd, udhcpd, radvd) in wifibox-init's status. */
export const daemonOf = (st: InitStatus, name: string): DaemonStatus =>
  found(
    st.daemons.find((d) => d.name === name),
    `${name} in wifibox-init's status`,
  );

/** A daemon's pid; its status has none while no process of it runs. */
export const pidOf = (d: DaemonStatus): number => found(d.pid ?? undefined, `pid of ${d.name} (${d.state}) in wifibox-init's status`);

/** One step (dhcpcd, iface:wlan0, …) in wifibox-init's status. */
export const stepOf = (st: InitStatus, id: string): StepStatus =>
  found(
    st.steps.find((s) => s.id === id),
    `step ${id} in wifibox-init's status`,
  );

/** The DNS relay's part of wifibox-init's status (null there when the relay does not run). */
export const relayOf = (st: InitStatus): RelayStatus => found(st.dnsRelay ?? undefined, `DNS relay in wifibox-init's status`);

/** One port's entry in wifibox-passthru's status. */
export const portOf = (st: PassthruStatus, port: number): PortStatus =>
  found(
    st.ports.find((p) => p.port === port),
    `port ${port} in wifibox-passthru's status`,
  );

/** The entry of one line of forwarding.conf (1: its first) in wifibox-forward's status. */
export const lineOf = (st: ForwardStatus, line: number): ForwardLineStatus =>
  found(
    st.lines.find((l) => l.line === line),
    `line ${line} in wifibox-forward's status`,
  );

/** One daemon's entry in wifibox-init's status, read now; throws when it has none. */
export const daemonStatus = async (lab: Guest, name: string, timeoutMs?: number): Promise<DaemonStatus> => daemonOf(await initStatus(lab, timeoutMs), name);
