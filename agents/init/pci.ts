// As the old remove-wireless service did at shutdown: PCI devices with a wireless interface are
// removed from the bus, so the host gets the card back in a clean state.
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { InitSystem } from './system';

export function releaseWirelessDevices(sys: InitSystem, sysBusPci: string, log: Logger): void {
  const devices = join(sysBusPci, 'devices');
  for (const dev of sys.list(devices)) {
    const net = join(devices, dev, 'net');
    const wireless = sys.list(net).some((n) => sys.exists(join(net, n, 'wireless')) || sys.exists(join(net, n, 'phy80211')));
    if (!wireless) continue;
    try {
      sys.write(join(devices, dev, 'remove'), '1\n');
      log.info({ device: dev }, 'released the wireless PCI device');
    } catch (err) {
      log.warn({ device: dev, err: (err as Error).message }, 'cannot release the wireless PCI device');
    }
  }
}
