// The fault suite's figures (test/lab/faults.test.ts, run by bench/reliability.ts) as the markdown
// section of docs/RELIABILITY.md.
import type { FaultResult, FaultSuiteOutput } from '../lab/faults';
import { mark, mbOfBytes } from './format';
import { machineLine, type MachineFacts } from './machine';
import { sectionText, type SectionMarks } from './sections';

export const FAULTS_MARKS: SectionMarks = { start: '<!-- faults:start -->', end: '<!-- faults:end -->' };

/** The figures a case adds, in words. */
const FIGURES: Record<string, (v: unknown) => string> = {
  gapMs: (v) => `the host without the wireless network ${v} ms at most`,
  renderedMs: (v) => `udhcpd.conf rendered ${v} ms after /tmp had room`,
  reattachAttempts: (v) => `ATTACHes the monitor needed: ${v}`,
  dhcpcdAgainMs: (v) => `dhcpcd started again ${v} ms after wlan0 was back`,
};
const COMMON = new Set(['id', 'fault', 'holds', 'withinMs', 'after', 'recoveryMs', 'leaks', 'wrongReplies']);

function extraFigures(r: FaultResult): string {
  const extra = Object.entries(r)
    .filter(([k]) => !COMMON.has(k))
    .map(([k, v]) => FIGURES[k]?.(v) ?? `${k}: ${String(v)}`);
  return extra.length ? extra.join('; ') : '—';
}

export function renderFaultsSection(
  suite: FaultSuiteOutput,
  x: { command: string; passed: boolean; tookMs: number; machine: MachineFacts; programs: string[] },
): string {
  const use = suite.use;
  return sectionText(FAULTS_MARKS, 'Faults under load', [
    [
      `Command: \`${x.command}\` — run ${x.machine.date}, took ${Math.round(x.tookMs / 1000)} s; the suite ${x.passed ? 'passed' : '**failed**'} (vitest on \`test/lab/faults.test.ts\`).`,
      machineLine(x.machine, x.programs),
    ],
    [
      `One lab, the guest inside its budget (${suite.budget.memoryMB} MB for all its processes, CPU ${suite.budget.cpus}): wifibox-init`,
      'with udhcpd and dhcpcd and the passthrough (a part of its runtime, switched on as `rc-service uds_passthru start` does),',
      "wpa_supplicant, the host's DHCP client and socat (`-t 3600`).",
      `During each case 32 host clients ask for their own network's ssid as fast as they are answered; a probe`,
      'fetches a page from the wireless network through the NAT every 50 ms. Each case injects one fault and',
      'restarts what its service would (after the packaged respawn delay). Recovery is the time from the',
      'moment named to the first `wpa_cli ping` answered through the passthrough and the first page through',
      'the NAT, both. "Leaks" compares the guest at rest after the case with the guest at rest before the',
      "first one: processes, run files, each agent's descriptors, firewall rules, addresses. A wrong reply is",
      "a client given another's.",
    ],
    [
      '| fault | what must hold | stated time | recovery | leaks found | wrong replies | other figures |',
      '|---|---|---|---:|---:|---:|---|',
      ...suite.results.map(
        (r) =>
          `| \`${r.id}\`: ${r.fault} | ${r.holds} | ≤ ${r.withinMs} ms after ${r.after} | ${r.recoveryMs} ms ${mark(r.recoveryMs <= r.withinMs)} | ${r.leaks.length} ${mark(r.leaks.length === 0)} | ${r.wrongReplies} ${mark(r.wrongReplies === 0)} | ${extraFigures(r)} |`,
      ),
    ],
    [
      ...suite.results.filter((r) => r.leaks.length).map((r) => `Left over after \`${r.id}\`: ${r.leaks.join('; ')}.`),
      use
        ? `The budget over the whole suite: limit ${mbOfBytes(use.limitBytes)} MB; the most held at once ${mbOfBytes(use.maxUsageBytes)} MB (memory.max_usage_in_bytes, page cache included); the limit was hit ${use.failcnt} times; OOM kills: ${use.oomKills} ${mark(use.oomKills === 0)}.`
        : 'The budget was not read (the suite ended before its lab was up).',
    ],
  ]);
}
