// npm run bench -- resume [--runs N] [--host-reboot S] [--json]: a resume as users live it. The host's client is ISC
// dhclient on wifibox0 with the lease it got from the guest before (FreeBSD's dhclient is its
// descendant: the same INIT-REBOOT, intervals and reboot timeout); the guest is started again as
// the image starts it, its services run by real openrc-run in runlevel order, every guest process
// on one CPU; the wireless network is a router's dnsmasq (DHCP and DNS), which knows the card from
// before ("known") or does not ("new"). The old glue's sequence runs in the same bench.
//
// Each run is a fresh lab: a stopped guest has no process, no /run or /tmp, no address or rule
// left, and wifibox0 (fixed MAC, as a host's bridge keeps its own) has the address and route of
// its lease, as the host keeps them while the guest is away. t0 is the first service's exec; the
// host's dhclient starts then too (devd's `dhclient wifibox0` as the guest's tap comes up).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GUEST_BUDGET } from '../lab/budget';
import { dhcpEvents, Lab, type DhcpEvent } from '../lab/lab';
import { packageRoot, type PackageRoot } from '../lab/package-root';
import { labScript } from '../lab/paths';
import { sleep, waitFor, type LabProcess } from '../lab/proc';
import { initStatus } from '../lab/status';
import { WIRELESS_NAME } from '../lab/wireless';
import { numberOption, wholeFrom } from './args';
import { benchLog, GUEST_BUNDLES, inLab, onInterrupt, privateDist } from './harness';
import { OLD_BOOT_ARGV, oldMarks, prepareOldSequence } from './init-old';
import { probeLine, probeLines, probeStarted, startHttpWatch, startLookupProbe, watchGuest, WLAN0_ROUTE, type GuestWatch } from './init-probe';
import { machineFacts } from './machine';
import {
  renderResumeSection,
  RESUME_HOST_CONF_MARKS,
  RESUME_MARKS,
  summarize,
  type Network,
  type ResumeResults,
  type ResumeRun,
  type Sequence,
} from './resume-report';
import { publishSection } from './sections';

const log = benchLog('resume');
/** The host's wifibox0: a bridge keeps its MAC across the guest's restarts, and udhcpd hashes it to the address. */
const HOST_MAC = '02:77:00:00:00:10';
/** How long each run watches from t0: dhclient asks again about 3 s after its start, and gives INIT-REBOOT up at 10 s. */
const WINDOW_MS = 14_000;
const DEFAULT_RUNS = 5;
/** The old glue's uds_passthru: one socat, each connection a datagram exchange with the daemon's socket. */
const OLD_PASSTHRU = ['socat', 'TCP-LISTEN:1200,reuseaddr,fork', 'UNIX-SENDTO:/var/run/wpa_supplicant/wlan0,bind=/run/old-passthru-client,unlink-early'];

interface HostLeaseFile {
  /** dhclient's lease file, as it wrote it. */
  leases: string;
  /** The lease as the host's resolv.conf and wifibox0 have it. */
  bound: DhcpEvent;
}

/** ISC dhclient in the host namespace on wifibox0, with the lab's script and its files in the lab's folder. */
function startDhclient(lab: Lab, leases: string | null, hostConf: string): { proc: LabProcess; events: string; leaseFile: string } {
  const events = join(lab.dir, 'host-dhcp-events.jsonl');
  const script = join(lab.dir, 'dhclient-script');
  writeFileSync(script, readFileSync(labScript('dhclient-script.sh'), 'utf8').replaceAll('@EVENTS@', events), { mode: 0o755 });
  const leaseFile = join(lab.dir, 'dhclient.leases');
  writeFileSync(leaseFile, leases ?? '');
  const conf = join(lab.dir, 'dhclient.conf');
  // ISC dhclient's own defaults for the timings (initial-interval, backoff-cutoff, reboot) unless
  // hostConf sets one; only what it asks for.
  writeFileSync(conf, `request subnet-mask, broadcast-address, routers, domain-name-servers, domain-name;\n${hostConf}`);
  const proc = lab.startInHost('host-dhclient', [
    'dhclient',
    '-4',
    '-d',
    '-v',
    '-sf',
    script,
    '-lf',
    leaseFile,
    '-pf',
    join(lab.dir, 'dhclient.pid'),
    '-cf',
    conf,
    'wifibox0',
  ]);
  return { proc, events, leaseFile };
}

/**
 * The guest's services, started as OpenRC starts them, one after the other; resolves when the last
 * has returned, with the moment (epoch ms) each start returned.
 */
async function startGuest(lab: Lab, sequence: Sequence, notes: string[]): Promise<Record<string, number>> {
  const returned: Record<string, number> = {};
  await lab.startWirelessDaemon();
  returned['wpa_supplicant'] = Date.now();
  if (sequence === 'ours') {
    for (const svc of ['wifibox-init', 'uds_passthru', 'forwarding']) {
      const r = await lab.guest([`/etc/init.d/${svc}`, 'start'], { timeoutMs: 60_000 });
      returned[svc] = Date.now();
      if (r.code !== 0) notes.push(`${svc} start: exit ${r.code}: ${(r.stdout + r.stderr).trim().slice(-300)}`);
    }
    return returned;
  }
  lab.startInGuest('old-boot', OLD_BOOT_ARGV);
  // uds_passthru is in the default runlevel: after boot's networking, with iptables.
  await waitFor('the old sequence past iptables', () => oldMarks(lab).some((m) => m.what === 'iptables') || null, 60_000, 10);
  for (const m of oldMarks(lab)) returned[m.what] ??= m.at;
  lab.startInGuest('old-passthru', OLD_PASSTHRU);
  returned['uds_passthru (socat)'] = Date.now();
  return returned;
}

async function labFor(sequence: Sequence, network: Network, pkg: PackageRoot, distDir: string): Promise<Lab> {
  const lab = await Lab.up({ flavor: 'wpa_supplicant', configureGuest: false, budget: GUEST_BUDGET, distDir });
  await lab.host(['ip', 'link', 'set', 'wifibox0', 'address', HOST_MAC]);
  await lab.startWirelessRouter(network === 'known');
  if (sequence === 'ours') {
    await lab.installInGuest(pkg.root, pkg.etc);
    await lab.prepareOpenrc();
  } else {
    await prepareOldSequence(lab);
  }
  await lab.startHostBridge(1200, 'wlan0');
  return lab;
}

/** A first boot of the guest, to give the host the lease a resume starts from. */
async function firstBoot(sequence: Sequence, pkg: PackageRoot, distDir: string, hostConf: string, onLab: (l: Lab | null) => void): Promise<HostLeaseFile> {
  const lab = await labFor(sequence, 'known', pkg, distDir);
  onLab(lab);
  try {
    const notes: string[] = [];
    const dhclient = startDhclient(lab, null, hostConf);
    await startGuest(lab, sequence, notes);
    const bound = await waitFor("the host's first lease", () => dhcpEvents(dhclient.events).find((e) => e.event === 'bound'), 60_000, 50).catch(
      (err: Error) => {
        throw new Error(`${sequence} first boot: ${err.message}${notes.length ? `; ${notes.join('; ')}` : ''}\n${lab.logTails(25)}`);
      },
    );
    await lab.stop(dhclient.proc);
    if (notes.length) log(`${sequence} first boot: ${notes.join('; ')}`);
    return { leases: readFileSync(dhclient.leaseFile, 'utf8'), bound };
  } finally {
    onLab(null);
    await lab.down();
  }
}

/** Lines {"event":"ok","at"} of the HTTP watch probe: every answer through the NAT. */
const okTimes = (p: LabProcess): number[] =>
  probeLines(p)
    .filter((l) => l.event === 'ok')
    .map((l) => l.at);

/**
 * The host as the guest left it: wifibox0's address and default route of the lease `bound`, and
 * a lease events file with that lease (the host's probes ask the DNS servers of the latest); returns that file.
 */
async function hostAsLeft(lab: Lab, bound: DhcpEvent): Promise<string> {
  await lab.host(['ip', '-4', 'addr', 'replace', `${bound.ip!}/24`, 'dev', 'wifibox0']);
  if (bound.router) await lab.host(['ip', '-4', 'route', 'replace', 'default', 'via', bound.router.split(' ')[0]!, 'dev', 'wifibox0']);
  const events = join(lab.dir, 'host-dhcp-events.jsonl');
  writeFileSync(events, `${JSON.stringify({ ...bound, at: Date.now() })}\n`);
  return events;
}

/** One line a run: its figures and its notes. */
function logRun(run: ResumeRun): void {
  log(
    `${run.sequence}, ${run.network} network #${run.index + 1}: traffic ${run.hostTrafficMs} ms, names ${run.hostNamesMs} ms, wpa_cli ${run.wpaCliMs} ms, ` +
      `wlan0 lease ${run.wlanLeaseMs} ms, address ${run.addressKept ? 'kept' : `${run.addressBefore} → ${run.addressAfter}`}, longest gap ${run.longestGapMs} ms, NAKs ${run.naks}` +
      `${run.notes.length ? `; ${run.notes.join('; ')}` : ''}`,
  );
}

async function resumeOnce(
  sequence: Sequence,
  network: Network,
  index: number,
  first: HostLeaseFile,
  pkg: PackageRoot,
  distDir: string,
  hostConf: string,
  onLab: (l: Lab | null) => void,
): Promise<ResumeRun> {
  const lab = await labFor(sequence, network, pkg, distDir);
  onLab(lab);
  const notes: string[] = [];
  let watch: GuestWatch<'wlan'> | null = null;
  try {
    const address = first.bound.ip!;
    const events = await hostAsLeft(lab, first.bound);
    const http = startHttpWatch(lab, 'http-watch', WINDOW_MS);
    const names = startLookupProbe(lab, 'lookup-probe', events, WIRELESS_NAME, {});
    watch = watchGuest(lab, { wlan: WLAN0_ROUTE });
    await Promise.all([probeStarted(http), probeStarted(names)]);

    const t0 = Date.now();
    const dhclient = startDhclient(lab, first.leases, hostConf);
    const cli = wpaCliProbe(lab, t0 + WINDOW_MS);
    const returned = await startGuest(lab, sequence, notes);
    const wpaCliAt = await cli;
    await sleep(Math.max(0, t0 + WINDOW_MS + 500 - Date.now()));

    const ok = okTimes(http);
    const gaps = ok.slice(1).map((t, i) => t - ok[i]!);
    const after = (await lab.host(['ip', '-4', '-o', 'addr', 'show', 'dev', 'wifibox0'])).stdout;
    const naks = (dhclient.proc.output().match(/DHCPNAK/g) ?? []).length;
    const answer = probeLine(names, 'answer');
    const leaseAt =
      sequence === 'ours'
        ? await initStatus(lab, 2000).then(
            (s) => (s.lease?.obtainedAt ? Date.parse(s.lease.obtainedAt) : null),
            () => null,
          )
        : null;
    const wlan = watch.at.wlan ?? leaseAt;
    const ms = (at: number | null | undefined) => (at === null || at === undefined ? null : at - t0);
    const run: ResumeRun = {
      sequence,
      network,
      index,
      hostTrafficMs: ms(ok[0]),
      hostNamesMs: ms(answer?.at),
      wpaCliMs: ms(wpaCliAt),
      wlanLeaseMs: ms(wlan),
      addressBefore: address,
      addressAfter: /inet ([\d.]+)\//.exec(after)?.[1] ?? null,
      addressKept: after.includes(`inet ${address}/`) && !dhcpEvents(events).some((e) => e.event === 'deconfig'),
      longestGapMs: gaps.length ? Math.max(...gaps) : null,
      naks,
      hostEvents: dhcpEvents(events)
        .slice(1)
        .map((e) => `${e.event} ${e.ip ?? ''} at ${((e.at - t0) / 1000).toFixed(2)} s`),
      services: Object.fromEntries(Object.entries(returned).map(([k, at]) => [k, at - t0])),
      notes,
    };
    if (run.hostTrafficMs === null) notes.push(`the host's traffic did not reach the wireless network within ${WINDOW_MS / 1000} s`);
    if (run.hostNamesMs === null) notes.push(`the host did not resolve ${WIRELESS_NAME} within ${WINDOW_MS / 1000} s`);
    logRun(run);
    if (notes.length || process.env.WIFIBOX_BENCH_DEBUG) log(lab.logTails(20));
    return run;
  } finally {
    watch?.stop();
    onLab(null);
    await lab.down();
  }
}

/**
 * `wpa_cli -p <host socket dir> status` from the host, a new one every 50 ms (each waits for its
 * answer up to 2 s), until one answers: when the first answer came, or null by `until`.
 */
async function wpaCliProbe(lab: Lab, until: number): Promise<number | null> {
  let answered: number | null = null;
  const pending: Promise<void>[] = [];
  while (answered === null && Date.now() < until) {
    pending.push(
      lab.hostCli(['status'], { timeoutMs: 2000 }).then(
        (r) => {
          if (answered === null && /^wpa_state=/m.test(r.stdout)) answered = Date.now();
        },
        () => undefined,
      ),
    );
    await sleep(50);
  }
  await Promise.all(pending);
  return answered;
}

export async function runResumeBench(argv: string[], command = 'npm run bench -- resume'): Promise<void> {
  const t0 = Date.now();
  const runs = numberOption(argv, '--runs', DEFAULT_RUNS, wholeFrom(1), 'a whole number of at least 1').value;
  // --host-reboot N: the host's dhclient.conf says `reboot N;` (how long it asks for its old
  // address before it starts over), measured in a section of its own.
  const hostReboot = numberOption(argv, '--host-reboot', null, wholeFrom(0), 'seconds (a whole number)').value;
  const hostConf = hostReboot === null ? '' : `reboot ${hostReboot};\n`;
  const dist = privateDist('resume', GUEST_BUNDLES);
  const tmp = mkdtempSync(join(tmpdir(), 'wbx-resume-'));
  let current: Lab | null = null;
  const interrupt = onInterrupt(log, () => void current?.down());
  await inLab(
    {
      lab: () => current,
      cleanup: async () => {
        dist.remove();
        rmSync(tmp, { recursive: true, force: true });
      },
      interrupt,
    },
    async () => {
      const pkg = await packageRoot(tmp);
      const all: ResumeRun[] = [];
      for (const sequence of ['ours', 'old'] as Sequence[]) {
        log(`${sequence}: a first boot, for the host's lease`);
        const first = await firstBoot(sequence, pkg, dist.dir, hostConf, (l) => (current = l));
        for (const network of ['known', 'new'] as Network[]) {
          for (let i = 0; i < runs && !interrupt.interrupted; i++) {
            all.push(await resumeOnce(sequence, network, i, first, pkg, dist.dir, hostConf, (l) => (current = l)));
          }
        }
      }
      const results: ResumeResults = {
        command: [command, ...argv].join(' '),
        machine: machineFacts(),
        runs,
        windowMs: WINDOW_MS,
        hostConf,
        all,
        durationSec: (Date.now() - t0) / 1000,
      };
      publishSection(renderResumeSection(results), hostConf ? RESUME_HOST_CONF_MARKS : RESUME_MARKS, null, argv, log);
      // Last, for scripts: the medians of the known network, the old glue's under `old`, the new network's under `newNetwork`.
      if (argv.includes('--json')) {
        const known = { ...summarize(results, 'ours', 'known'), old: summarize(results, 'old', 'known') };
        process.stdout.write(`${JSON.stringify({ ...known, newNetwork: { ...summarize(results, 'ours', 'new'), old: summarize(results, 'old', 'new') } })}\n`);
      }
    },
  );
}
