// The wireless network, in the air namespace: a DHCP server that hands the guest's wlan0 its one
// address (so it is the same every run) with DNS and domain, a web server that answers with the
// address it sees, and for IPv6 a radvd that advertises a prefix and a DNS server.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dnsmasqArgv } from './dnsmasq';
import { BUSYBOX } from './guest';
import { WLAN0_MAC, type Addresses, type Namespaces } from './namespaces';
import { labScript } from './paths';
import { must, waitFor, type LabProcess, type RunOptions, type RunResult } from './proc';

/** What the wireless network hands the guest by default. */
export const WIRELESS_DNS = '192.168.77.53';
export const WIRELESS_DOMAIN = 'wireless.lab';
/** A name only the wireless network's DNS server knows: its web server. */
export const WIRELESS_NAME = 'portal.wireless.lab';

/** What the wireless network needs of its lab. */
interface WirelessSide {
  readonly dir: string;
  readonly ns: Namespaces;
  readonly addr: Addresses;
  airArgv(argv: readonly string[]): string[];
  air(argv: readonly string[], o?: RunOptions): Promise<RunResult>;
  startInAir(name: string, argv: readonly string[]): LabProcess;
}

export class WirelessNetwork {
  private dhcpSeq = 0;
  private raSeq = 0;

  constructor(private readonly lab: WirelessSide) {}

  /** The wireless network of the station flavor: its DNS server, its DHCP server and its web server. */
  async start(dns = WIRELESS_DNS, domain = WIRELESS_DOMAIN, leaseSeconds = 120): Promise<{ dhcp: LabProcess; web: LabProcess; dns: LabProcess }> {
    const dnsServer = await this.startDns(dns, { [WIRELESS_NAME]: this.lab.addr.air });
    const dhcp = this.startDhcp(dns, domain, leaseSeconds);
    const web = await this.startWeb();
    return { dhcp, web, dns: dnsServer };
  }

  /** The wireless network's web server, answering with the address it sees, once it listens. */
  private async startWeb(): Promise<LabProcess> {
    const web = this.lab.startInAir('air-web', [process.execPath, labScript('web-server.cjs'), this.lab.addr.air, '8080']);
    await waitFor('the wireless web server', async () => (await this.lab.air(['ss', '-Htln', 'sport = :8080'])).stdout.includes(':8080'), 5000);
    return web;
  }

  /**
   * A DNS server of the wireless network (Debian's dnsmasq) on an address of its own, knowing
   * only `records`: nothing of this machine's (no /etc/hosts, no resolv.conf, no config file).
   */
  async startDns(address: string, records: Record<string, string>, extra: readonly string[] = []): Promise<LabProcess> {
    await must(['ip', '-n', this.lab.ns.air, 'addr', 'replace', `${address}/24`, 'dev', 'ap0']);
    const name = `air-dns-${address}`;
    const p = this.lab.startInAir(
      name,
      dnsmasqArgv(`--listen-address=${address}`, join(this.lab.dir, `${name}.pid`), [
        '--log-queries',
        ...Object.entries(records).map(([n, ip]) => `--host-record=${n},${ip}`),
        ...extra,
      ]),
    );
    await waitFor(`the wireless DNS server at ${address}`, async () => (await this.lab.air(['ss', '-Hlun', `src ${address}:53`])).stdout.includes(':53'), 5000);
    return p;
  }

  /**
   * A DNS server of the wireless network `delayMs` away (lab/dns-delay.cjs, on an address of its
   * own): it passes each question on to `upstream` after that delay, and says what it passed on.
   * With `forger` (another address), forged answers come before each real one.
   */
  async startFarDns(address: string, upstream: string, delayMs: number, forger?: string): Promise<LabProcess> {
    for (const a of [address, ...(forger ? [forger] : [])]) await must(['ip', '-n', this.lab.ns.air, 'addr', 'replace', `${a}/24`, 'dev', 'ap0']);
    const p = this.lab.startInAir(`air-far-dns-${address}`, [
      process.execPath,
      labScript('dns-delay.cjs'),
      address,
      upstream,
      String(delayMs),
      ...(forger ? [forger] : []),
    ]);
    await waitFor(`the far DNS server at ${address}`, () => p.output().includes('"listening"'), 5000);
    return p;
  }

  startDhcp(dns: string, domain: string, leaseSeconds: number): LabProcess {
    const { dir, addr } = this.lab;
    const conf = join(dir, `air-udhcpd-${++this.dhcpSeq}.conf`);
    writeFileSync(
      conf,
      [
        `start ${addr.guestWlan0}`,
        `end ${addr.guestWlan0}`,
        'interface ap0',
        `lease_file ${join(dir, 'air-udhcpd.leases')}`,
        `pidfile ${join(dir, 'air-udhcpd.pid')}`,
        'opt subnet 255.255.255.0',
        `opt router ${addr.air}`,
        `opt dns ${dns}`,
        `opt domain ${domain}`,
        `opt lease ${leaseSeconds}`,
        '',
      ].join('\n'),
    );
    // -a 100: a router checks an address it offers for a moment, not the 2 s of busybox's default.
    return this.lab.startInAir(`air-udhcpd-${this.dhcpSeq}`, [BUSYBOX, 'udhcpd', '-f', '-a', '100', conf]);
  }

  /**
   * The wireless network as a home router runs it: one dnsmasq for DHCP and DNS (knowing
   * WIRELESS_NAME), and the web server. Its one address for the card is wlan0's every time. With
   * `knowsCard`, its lease file already has the card (it answers at once, as a network the laptop
   * was on before); without, the card is new to it and it checks the address by ping before it
   * offers it (dnsmasq's own behaviour, up to 3 s).
   */
  async startRouter(knowsCard: boolean, leaseSeconds = 3600): Promise<{ router: LabProcess; web: LabProcess }> {
    const { dir, addr } = this.lab;
    await must(['ip', '-n', this.lab.ns.air, 'addr', 'replace', `${WIRELESS_DNS}/24`, 'dev', 'ap0']);
    const leases = join(dir, 'air-dnsmasq.leases');
    const expires = Math.floor(Date.now() / 1000) + leaseSeconds;
    writeFileSync(leases, knowsCard ? `${expires} ${WLAN0_MAC} ${addr.guestWlan0} * *\n` : '');
    const router = this.lab.startInAir(
      'air-router',
      dnsmasqArgv('--interface=ap0', join(dir, 'air-router.pid'), [
        '--log-dhcp',
        `--dhcp-range=${addr.guestWlan0},${addr.guestWlan0},255.255.255.0,${leaseSeconds}s`,
        `--dhcp-leasefile=${leases}`,
        `--dhcp-option=option:router,${addr.air}`,
        `--dhcp-option=option:dns-server,${WIRELESS_DNS}`,
        `--dhcp-option=option:domain-name,${WIRELESS_DOMAIN}`,
        `--host-record=${WIRELESS_NAME},${addr.air}`,
      ]),
    );
    await waitFor('the wireless router (dnsmasq)', async () => (await this.lab.air(['ss', '-Hlun', 'sport = :67'])).stdout.includes(':67'), 5000);
    const web = await this.startWeb();
    return { router, web };
  }

  /**
   * IPv6 on the wireless network, as its router does it: an address of the prefix on ap0 and
   * radvd advertising the prefix (SLAAC) with an IPv6 DNS server (RDNSS). Forwarding is turned
   * on in the wireless namespace only: radvd advertises itself as a router only with it.
   */
  async startRa(dns6 = '2001:db8:77::53', prefix = '2001:db8:77::/64', address = '2001:db8:77::1'): Promise<LabProcess> {
    await must(['ip', '-n', this.lab.ns.air, 'addr', 'replace', `${address}/${prefix.split('/')[1]}`, 'dev', 'ap0', 'nodad']);
    await must(this.lab.airArgv(['sysctl', '-q', '-w', 'net.ipv6.conf.all.forwarding=1']));
    const name = `air-radvd-${++this.raSeq}`;
    const conf = join(this.lab.dir, `${name}.conf`);
    writeFileSync(
      conf,
      [
        'interface ap0 {',
        '\tAdvSendAdvert on;',
        '\tMinRtrAdvInterval 3;',
        '\tMaxRtrAdvInterval 10;',
        `\tprefix ${prefix} {`,
        '\t\tAdvOnLink on;',
        '\t\tAdvAutonomous on;',
        '\t};',
        `\tRDNSS ${dns6} {`,
        '\t};',
        '};',
        '',
      ].join('\n'),
    );
    return this.lab.startInAir(name, ['radvd', '-n', '-m', 'stderr', '-d', '1', '-C', conf, '-p', join(this.lab.dir, `${name}.pid`)]);
  }
}
