// The resume bench's medians (bench/resume-report.ts): what `--json` prints and the section states.
import { describe, expect, it } from 'vitest';
import { renderResumeSection, summarize, type ResumeResults, type ResumeRun } from '../../bench/resume-report';

const run = (over: Partial<ResumeRun>): ResumeRun => ({
  sequence: 'ours',
  network: 'known',
  index: 0,
  hostTrafficMs: 500,
  hostNamesMs: 520,
  wpaCliMs: 200,
  wlanLeaseMs: 450,
  addressBefore: '10.0.0.2',
  addressAfter: '10.0.0.2',
  addressKept: true,
  longestGapMs: 40,
  naks: 0,
  hostEvents: [],
  services: { 'wifibox-init': 300 },
  notes: [],
  ...over,
});

const results = (all: ResumeRun[]): ResumeResults => ({
  command: 'npm run bench -- resume',
  runs: 3,
  windowMs: 14_000,
  hostConf: '',
  all,
  durationSec: 1,
  machine: { date: '2026-12-03', nproc: 2, cpu: 'test', kernel: 'test', node: 'v20', git: 'abc' } as ResumeResults['machine'],
});

describe('the resume bench summary', () => {
  it('takes medians per sequence and network, the worst gap, and keeps the address only when every run kept it', () => {
    const r = results([
      run({ index: 0, hostTrafficMs: 500, wlanLeaseMs: 450, longestGapMs: 40 }),
      run({ index: 1, hostTrafficMs: 700, wlanLeaseMs: 600, longestGapMs: 300, naks: 1 }),
      run({ index: 2, hostTrafficMs: 600, wlanLeaseMs: 580, longestGapMs: 60, addressKept: false, addressAfter: null }),
      run({ sequence: 'old', hostTrafficMs: 9000 }),
      run({ network: 'new', hostTrafficMs: 4000 }),
    ]);
    const s = summarize(r, 'ours', 'known');
    expect(s.runs).toBe(3);
    expect(s.hostTrafficMs).toBe(600);
    expect(s.trafficAfterLeaseMs).toBe(50);
    expect(s.longestGapMs).toBe(300);
    expect(s.addressKept).toBe(false);
    expect(s.naks).toBe(0);
    expect(summarize(r, 'old', 'known').hostTrafficMs).toBe(9000);
    expect(summarize(r, 'ours', 'new').hostTrafficMs).toBe(4000);
  });

  it('gives no median for a figure some run did not reach, and the section says so', () => {
    const r = results([run({ index: 0 }), run({ index: 1, wpaCliMs: null })]);
    expect(summarize(r, 'ours', 'known').wpaCliMs).toBeNull();
    const text = renderResumeSection(r);
    expect(text).toMatch(/`wpa_cli -p <host socket dir> status` answered through the passthrough \| not reached \|/);
    expect(text.startsWith('<!-- resume-bench:start -->')).toBe(true);
  });

  it("a run with a line in the host's dhclient.conf goes to a section of its own that names the line", () => {
    const text = renderResumeSection({ ...results([run({})]), hostConf: 'reboot 0;\n' });
    expect(text.startsWith("<!-- resume-host-conf-bench:start -->\n## A resume with `reboot 0;` in the host's dhclient.conf")).toBe(true);
    expect(text.endsWith('<!-- resume-host-conf-bench:end -->')).toBe(true);
  });
});
