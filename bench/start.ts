// npm run bench -- start [--runs N] [--write]: a resume, the network first. The guest on one CPU
// (its budget's cpuset), started as OpenRC's runlevel starts it, in three layouts, alternating:
//   - init alone: wifibox-init, nothing after it (what the init bench measures);
//   - two runtimes (now): wifibox-init, then uds_passthru (the passthrough switched on in
//     wifibox-init's runtime; the service waits for its state), then forwarding (wifibox-forward);
//   - three runtimes (before): wifibox-init, then wifibox-passthru as its own process, then forwarding.
// wpa_supplicant is associated before t0 (its service comes before net). Measured from t0 (the
// spawn of wifibox-init): the host's traffic through the NAT (an HTTP probe from the host), and
// the CPU time (user + system, /proc/PID/stat) the runtimes used from their exec until every part
// was ready (the network's steps and lease, port 1200 listening, every forwarding line listening).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GUEST_BUDGET } from '../lab/budget';
import { Lab } from '../lab/lab';
import { sleep, waitFor, type LabProcess } from '../lab/proc';
import { forwardStatus, initStatus } from '../lab/status';
import { runsOption } from './args';
import { benchLog, onInterrupt, privateDist } from './harness';
import { probeLine, probeStarted, startHttpProbe } from './init-probe';
import { associate, hostClientLeadMs } from './init-runs';
import { machineFacts } from './machine';
import { cpuSeconds } from './memory';
import { publishSection } from './sections';
import { renderStartSection, START_MARKS, type StartLayout, type StartRun } from './start-report';

const log = benchLog('bench start');
const RUN_TIMEOUT_MS = 60_000;
const FORWARDING = 'UDP4-RECV:11223,broadcast,reuseaddr UDP4:10.0.0.2:11223\nUDP-LISTEN:11224,broadcast,fork,reuseaddr UDP:10.0.0.2:11224\n';
let aborted = false;

async function runOnce(layout: StartLayout, index: number, distDir: string): Promise<StartRun> {
  const lab = await Lab.up({ flavor: 'wpa_supplicant', configureGuest: false, budget: GUEST_BUDGET, distDir });
  const notes: string[] = [];
  try {
    await lab.startWirelessNetwork();
    await associate(lab);
    writeFileSync(join(lab.dir, 'appliance', 'forwarding.conf'), FORWARDING);
    const hostStarted = Date.now();
    lab.startDhcpClient('host', 'wifibox0');
    const http = startHttpProbe(lab, 'http-probe');
    await probeStarted(http);
    await sleep(Math.max(0, hostStarted + hostClientLeadMs(index) - Date.now()));

    const t0 = Date.now();
    const runtimes: LabProcess[] = [lab.startInit(['--loglevel', 'warn'])];
    // OpenRC: supervise-daemon returns once it has forked; the next service starts then.
    if (layout === 'two runtimes') await lab.startPassthruPart(['--loglevel', 'warn'], false);
    if (layout === 'three runtimes') runtimes.push(await lab.startPassthru(['--loglevel', 'warn'], 'passthru', false));
    if (layout !== 'init alone') runtimes.push(lab.startForward(['--loglevel', 'warn']));
    const servicesStarted = (Date.now() - t0) / 1000;

    const ready = await waitFor(
      'every part ready',
      async () => {
        if (aborted) throw new Error('interrupted');
        const st = await initStatus(lab, 2000).catch(() => null);
        if (!st?.lease?.address || !st.steps.every((s: { state: string }) => s.state === 'ok')) return null;
        if (layout === 'init alone') return Date.now();
        if (!(await lab.guest(['ss', '-Htln', 'sport = :1200'])).stdout.includes(':1200')) return null;
        const fw = await forwardStatus(lab, 2000).catch(() => null);
        return fw?.lines.length === 2 && fw.lines.every((l: { listening: boolean }) => l.listening) ? Date.now() : null;
      },
      RUN_TIMEOUT_MS,
      20,
    );
    const cpu = runtimes.map((p) => cpuSeconds(p.pid));
    const reached = await waitFor("the host's traffic through the NAT", () => probeLine(http, 'page') ?? null, RUN_TIMEOUT_MS, 20).catch(() => null);
    if (!reached) notes.push("the host's traffic did not flow");
    await lab.stop(http);
    const run: StartRun = {
      layout,
      index,
      reached: reached ? (reached.at - t0) / 1000 : null,
      ready: (ready - t0) / 1000,
      servicesStarted,
      cpuSeconds: cpu.reduce((a, b) => a + b, 0),
      runtimes: runtimes.length,
      notes,
    };
    log(
      `${layout} #${index + 1}: traffic ${run.reached?.toFixed(3) ?? '—'} s, every part ready ${run.ready.toFixed(3)} s, CPU ${run.cpuSeconds.toFixed(2)} s in ${run.runtimes} runtime(s)${notes.length ? `; ${notes.join('; ')}` : ''}`,
    );
    return run;
  } finally {
    await lab.down();
  }
}

export async function runStartBench(argv: string[], command?: string): Promise<void> {
  const { value: runs, given: runsGiven } = runsOption(argv, 5);
  const t0 = Date.now();
  const dist = privateDist('start', ['wifibox-init.js', 'wifibox-passthru.js', 'wifibox-forward.js', 'wifibox-dhcpcd-hook', 'wifibox_dgram.node']);
  const interrupt = onInterrupt(log, () => void (aborted = true));
  try {
    const layouts: StartLayout[] = ['init alone', 'two runtimes', 'three runtimes'];
    const results: StartRun[] = [];
    for (let i = 0; i < runs && !interrupt.interrupted; i++) {
      // Rotated, so each layout meets the same drift of a shared machine.
      for (let k = 0; k < layouts.length && !interrupt.interrupted; k++) results.push(await runOnce(layouts[(i + k) % layouts.length]!, i, dist.dir));
    }
    if (interrupt.interrupted) throw new Error('interrupted');
    const cmd = command ?? `npm run bench -- start${runsGiven ? ` --runs ${runs}` : ''}`;
    publishSection(
      renderStartSection({ command: cmd, machine: machineFacts(), runs: results, durationSec: (Date.now() - t0) / 1000 }),
      START_MARKS,
      runsGiven ? 'not a full run' : null,
      argv,
      log,
    );
  } finally {
    interrupt.off();
    dist.remove();
  }
}
