import { describe, expect, it } from 'vitest';
import { readLeaseFile, writeLeaseFile, type LeaseRecord } from '../../agents/common/udhcpd-leases';
import { parseUdhcpdTemplate } from '../../agents/init/config/udhcpd';
import { leasesToRecord, neighboursOn, withLeases } from '../../agents/init/services/host-leases';

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

const host = { ip: '10.0.0.109', mac: '52:54:00:ab:cd:ef' };

describe('the host keeps its address across a resume (its lease written back from the neighbour table)', () => {
  it('reads only complete entries of the interface asked for, MACs in lower case', () => {
    expect(neighboursOn(ARP, 'eth0')).toEqual([host]);
    expect(neighboursOn(ARP, 'wlan0')).toEqual([{ ip: '192.168.77.1', mac: '02:00:00:00:00:01' }]);
    expect(neighboursOn('', 'eth0')).toEqual([]);
  });

  it('records an address of the range once; not outside it, nor what the file, the template or an earlier record holds', () => {
    expect(leasesToRecord([host], template(), [], [])).toEqual([host]);
    expect(leasesToRecord([host], template(), [], [host])).toEqual([]);
    expect(leasesToRecord([host], template(), [{ ip: '10.0.0.5', mac: host.mac }], [])).toEqual([]);
    expect(leasesToRecord([host], template(), [{ ip: host.ip, mac: '02:11:22:33:44:55' }], [])).toEqual([]);
    expect(leasesToRecord([{ ip: '10.0.0.1', mac: host.mac }], template('start 10.0.0.100\n'), [], [])).toEqual([]);
    // The user's own static_lease wins, by MAC or by address (udhcpd skips such leases in its file).
    expect(leasesToRecord([host], template('STATIC_LEASE 52:54:00:AB:CD:EF 10.0.0.50 # laptop\n'), [], [])).toEqual([]);
    expect(leasesToRecord([host], template('static_lease 02:11:22:33:44:55 10.0.0.109\n'), [], [])).toEqual([]);
    // Two hosts claiming one address: the first seen has it.
    expect(leasesToRecord([host, { ip: host.ip, mac: '02:11:22:33:44:55' }], template(), [], [])).toEqual([host]);
  });

  it('adds the new leases to those in the file, their time left counted from now; a file udhcpd would not read is none', () => {
    const old: LeaseRecord = { ip: '10.0.0.7', mac: '02:11:22:33:44:55', secondsLeft: 50, hostname: 'phone' };
    const added = { ...host, secondsLeft: 600, hostname: '' };
    expect(withLeases({ writtenAt: 1000, records: [old] }, [host], 1030, 600)).toEqual([{ ...old, secondsLeft: 20 }, added]);
    expect(withLeases({ writtenAt: 1000, records: [old] }, [host], 1100, 600)).toEqual([{ ...old, secondsLeft: 0 }, added]);
    expect(withLeases({ writtenAt: null, records: [] }, [host], 1100, 600)).toEqual([added]);
    expect(withLeases({ writtenAt: 2000, records: [old] }, [host], 1100, 600)).toEqual([added]); // from the future
    expect(withLeases({ writtenAt: 1000, records: [old] }, [host], 1000 + 12 * 3600 + 1, 600)).toEqual([added]);
  });
});

describe("busybox udhcpd's lease file", () => {
  // One record as busybox 1.36 writes it: written at 1,700,000,000; 3600 s left; 10.0.0.2; a MAC; "laptop".
  const bytes = Buffer.concat([
    Buffer.from('000000006553f100', 'hex'),
    Buffer.from('00000e10' + '0a000002' + '525400abcdef', 'hex'),
    Buffer.concat([Buffer.from('laptop'), Buffer.alloc(14)]),
    Buffer.alloc(2),
  ]);

  it('reads and writes the same bytes', () => {
    const file = readLeaseFile(bytes);
    expect(file).toEqual({ writtenAt: 1_700_000_000, records: [{ secondsLeft: 3600, ip: '10.0.0.2', mac: '52:54:00:ab:cd:ef', hostname: 'laptop' }] });
    expect(writeLeaseFile(file.writtenAt!, file.records).equals(bytes)).toBe(true);
  });

  it('skips free slots and a cut-off record; a hostname of 20 bytes keeps its terminating NUL', () => {
    const free = Buffer.alloc(36);
    expect(readLeaseFile(Buffer.concat([bytes, free, bytes.subarray(8, 20)])).records).toHaveLength(1);
    expect(readLeaseFile(Buffer.alloc(4))).toEqual({ writtenAt: null, records: [] });
    const long = writeLeaseFile(1, [{ secondsLeft: 1, ip: '10.0.0.3', mac: '02:00:00:00:00:03', hostname: 'x'.repeat(30) }]);
    expect(readLeaseFile(long).records[0]!.hostname).toBe('x'.repeat(19));
  });
});
