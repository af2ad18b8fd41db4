import { describe, expect, it } from 'vitest';
import { parseUdhcpdTemplate } from '../../agents/init/config/udhcpd';
import { leasesToPin, neighboursOn, staticLeaseLines, templateLeases } from '../../agents/init/services/host-leases';

const ARP = [
  'IP address       HW type     Flags       HW address            Mask     Device',
  '10.0.0.109       0x1         0x2         52:54:00:AB:CD:EF     *        eth0',
  '10.0.0.77        0x1         0x0         00:00:00:00:00:00     *        eth0',
  '192.168.77.1     0x1         0x2         02:00:00:00:00:01     *        wlan0',
  '',
].join('\n');

function template(extra = ''): NonNullable<ReturnType<typeof parseUdhcpdTemplate>['template']> {
  const t = parseUdhcpdTemplate(`start 10.0.0.2\nend 10.0.0.254\ninterface eth0\n${extra}`, '/media/etc/udhcpd.conf').template;
  if (!t) throw new Error('the template was refused');
  return t;
}

describe('the host keeps its address across a resume (static leases from the neighbour table)', () => {
  it('reads only complete entries of the interface asked for, MACs in lower case', () => {
    expect(neighboursOn(ARP, 'eth0')).toEqual([{ ip: '10.0.0.109', mac: '52:54:00:ab:cd:ef' }]);
    expect(neighboursOn(ARP, 'wlan0')).toEqual([{ ip: '192.168.77.1', mac: '02:00:00:00:00:01' }]);
    expect(neighboursOn('', 'eth0')).toEqual([]);
  });

  it('pins an address of the range once; not outside it, nor what the template or an earlier pin holds', () => {
    const host = { ip: '10.0.0.109', mac: '52:54:00:ab:cd:ef' };
    expect(leasesToPin([host], template(), [])).toEqual([host]);
    expect(leasesToPin([host], template(), [host])).toEqual([]);
    expect(leasesToPin([{ ip: '10.0.0.1', mac: host.mac }], template('start 10.0.0.100\n'), [])).toEqual([]);
    // The user's own static_lease wins, by MAC or by address.
    expect(leasesToPin([host], template('static_lease 52:54:00:AB:CD:EF 10.0.0.50 # laptop\n'), [])).toEqual([]);
    expect(leasesToPin([host], template('static_lease 02:11:22:33:44:55 10.0.0.109\n'), [])).toEqual([]);
    // Two hosts claiming one address: the first seen has it.
    expect(leasesToPin([host, { ip: host.ip, mac: '02:11:22:33:44:55' }], template(), [])).toEqual([host]);
  });

  it('reads the template\'s static leases and writes its own as udhcpd reads them', () => {
    expect(templateLeases(template('STATIC_LEASE 02:11:22:33:44:55 10.0.0.9\n'))).toEqual([{ mac: '02:11:22:33:44:55', ip: '10.0.0.9' }]);
    expect(staticLeaseLines([{ mac: '52:54:00:ab:cd:ef', ip: '10.0.0.109' }])).toBe('static_lease\t52:54:00:ab:cd:ef\t10.0.0.109\n');
  });
});
