// The agents' status endpoints in the guest: UNIX stream sockets that send one JSON document,
// then EOF.
import { connect } from 'node:net';

export const INIT_STATUS_SOCKET = '/run/wifibox-init.sock';
export const PASSTHRU_STATUS_SOCKET = '/run/wifibox-passthru.sock';
export const FORWARD_STATUS_SOCKET = '/run/wifibox-forward/status.sock';

/** Reads a status endpoint; rejects when it cannot, or (with timeoutMs) when it stays silent that long. */
export function readStatus(path: string, timeoutMs?: number): Promise<any> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    let data = '';
    if (timeoutMs !== undefined) s.setTimeout(timeoutMs, () => s.destroy(new Error(`${path}: no answer within ${timeoutMs} ms`)));
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

/** Anything with a way into the guest's files: a Lab. */
interface Guest {
  guestPath(p: string): string;
}

export const initStatus = (lab: Guest, timeoutMs?: number): Promise<any> => readStatus(lab.guestPath(INIT_STATUS_SOCKET), timeoutMs);
export const passthruStatus = (lab: Guest, timeoutMs?: number): Promise<any> => readStatus(lab.guestPath(PASSTHRU_STATUS_SOCKET), timeoutMs);
export const forwardStatus = (lab: Guest, timeoutMs?: number): Promise<any> => readStatus(lab.guestPath(FORWARD_STATUS_SOCKET), timeoutMs);

/** One daemon's entry in wifibox-init's status (dhcpcd, udhcpd, radvd), or undefined when it has none. */
export const daemonStatus = async (lab: Guest, name: string, timeoutMs?: number): Promise<any> =>
  (await initStatus(lab, timeoutMs)).daemons.find((d: { name: string }) => d.name === name);
