// The lab of wifibox-init's station tests: the upstream samples as they are, the wireless network,
// wifibox-init, and the host asking udhcpd for a lease on wifibox0.
import { dhcpEvents, type Lab } from '../../lab/lab';
import type { LabProcess } from '../../lab/proc';
import { labForFile } from './lab-file';

type DhcpEvent = ReturnType<typeof dhcpEvents>[number];

export interface StationLab {
  init: LabProcess;
  air: Awaited<ReturnType<Lab['startWirelessNetwork']>>;
  /** The host's DHCP client on wifibox0, and the file of its events. */
  hostDhcp: ReturnType<Lab['startDhcpClient']>;
  /** The host DHCP client's events so far, oldest first. */
  hostEvents(): DhcpEvent[];
  /** The host's latest lease, bound or renewed. */
  lastHostLease(): DhcpEvent | undefined;
}

/**
 * For the tests of one file: the station lab with the guest not configured, the wireless network
 * (its DHCP server hands out DNS 192.168.77.53 and the domain wireless.lab), wifibox-init, then the
 * host's DHCP client. `prepare` is given the lab first, before wifibox-init starts. What is
 * returned is filled in once the lab is up, before the file's tests.
 */
export function stationLabForFile(prepare: (lab: Lab) => void): StationLab {
  const station = {
    hostEvents: () => dhcpEvents(station.hostDhcp.events),
    lastHostLease: () => [...station.hostEvents()].reverse().find((e) => e.event === 'bound' || e.event === 'renew'),
  } as StationLab;
  labForFile(
    { flavor: 'wpa_supplicant', configureGuest: false },
    async (lab) => {
      prepare(lab);
      station.air = await lab.startWirelessNetwork('192.168.77.53', 'wireless.lab');
      station.init = lab.startInit();
      station.hostDhcp = lab.startDhcpClient('host', 'wifibox0');
    },
    60,
  );
  return station;
}
