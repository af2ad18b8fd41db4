// Acceptance 3 of the init orchestrator: wlan0 appears only seconds after the start (a driver
// that loads late). The host is served at once all the same; wlan0 is configured when it comes.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Lab } from '../../lab/lab';
import { sleep, waitFor } from '../../lab/proc';
import { initStatus, stepOf } from '../../lab/status';
import { labForFile } from '../helpers/lab-file';

let lab: Lab;

labForFile({ flavor: 'wpa_supplicant', configureGuest: false, lateWlan: true }, (l) => {
  lab = l;
});

describe('wifibox-init, wlan0 late', () => {
  it('3. serves the host without wlan0, and configures wlan0 once it appears', async () => {
    lab.startInit();
    const status = () => initStatus(lab);
    const host = lab.startDhcpClient('host', 'wifibox0');
    // The host's lease does not wait for the wireless side.
    await waitFor("the host's lease", () => readFileSync(host.events, 'utf8').includes('"bound"'), 10_000, 50);
    await sleep(3000);
    const waiting = await status();
    expect(stepOf(waiting, 'wait:wlan0').state).toBe('running');
    expect(stepOf(waiting, 'dhcpcd').state).toBe('pending');

    await lab.plugWlan();
    await lab.startWirelessNetwork();
    await waitFor('wlan0 to be configured', async () => stepOf(await status(), 'iface:wlan0').state === 'ok', 5000);
    await waitFor('the wireless lease', async () => (await status()).lease?.address === lab.addr.guestWlan0, 30_000, 200);
    const st = await status();
    expect(st.steps.filter((s) => s.state !== 'ok')).toEqual([]);
    expect(st.daemons.map((d) => d.name).sort()).toEqual(['dhcpcd', 'udhcpd']);
  }, 60_000);
});
