// The diag bench's section (bench/diag-report.ts) from made-up runs: the times against the
// target and against the same information by hand, and what the runs left in the guest.
import { describe, expect, it } from 'vitest';
import { renderDiagSection, type DiagResults } from '../../bench/diag-report';
import type { Kind, Sample } from '../../bench/diag-runs';

const sample = (kind: Kind, ms: number, over: Partial<Sample> = {}): Sample => ({
  kind,
  ms,
  codes: kind === 'manual' ? [0, 0, 0, 0, 0, 0] : [0],
  stdoutBytes: 1000,
  durationMs: kind === 'json' ? 60 : null,
  health: kind === 'text' || kind === 'json' ? 'ok' : null,
  samePids: true,
  pidsLeft: [],
  filesLeft: [],
  transient: [],
  errors: [],
  ...over,
});

function results(samples: Sample[]): DiagResults {
  return {
    command: 'npm run bench -- diag',
    quick: false,
    runs: 3,
    rssRuns: 1,
    samples,
    durationSec: 60,
    rss: [
      { kind: 'text', perStep: [51_000] },
      { kind: 'manual', perStep: [2000, 3000, 3000, 4000, 5000, null] },
    ],
    machine: {
      date: '2026-07-01',
      nproc: 2,
      cpu: 'test',
      kernel: 'test',
      node: 'v20',
      git: 'abc',
      diag: 'wifibox-diag 0.1.0',
      busybox: 'BusyBox v1.36.1',
      iproute: 'ip',
      iptables: 'iptables',
      wpaCli: 'wpa_cli',
    },
  };
}

const rounds = (text: number[], over: Partial<Sample> = {}): Sample[] =>
  text.flatMap((t) => [sample('text', t, over), sample('json', t + 10), sample('manual', 20), sample('node', 40)]);

describe('the diag bench section', () => {
  it('judges each wifibox-diag row by its slowest run and compares medians with the manual sequence', () => {
    const text = renderDiagSection(results(rounds([300, 500, 1200])));
    expect(text).toContain('| `wifibox-diag` (text) | 3 | 500 | 1200 | 1200 | 25.0× | 3 × 0 | 52.2 | 1000 | ≤ 1 s, every run: ✗ |');
    expect(text).toContain('| `wifibox-diag --json` | 3 | 510 | 1210 | 1210 | 25.5× | 3 × 0 | — | 1000 | ≤ 1 s, every run: ✗ |');
    expect(text).toContain('| 3 | 20.0 | 20.0 | 20.0 | 1 | 3 × all six 0 | 5.1 | 1000 |  |');
    expect(text).toContain("By hand, the six commands' peak RSS, MB: ps 2.0, ip addr 3.1, ip route 3.1, iptables 4.1, wpa_cli 5.1, cat —.");
    expect(text).toContain('**Resident processes added: 0.**');
    expect(text.startsWith('<!-- diag-bench:start -->\n')).toBe(true);
  });

  it('names the processes and files a run left, and what went during the runs', () => {
    const text = renderDiagSection(results(rounds([300, 400], { samePids: false, pidsLeft: ['4242 node x'], transient: ['pid 7 ended during the run'] })));
    expect(text).toContain('**Resident processes added: 1 (4242 node x).**');
    expect(text).toContain('right after 2 of 4 wifibox-diag runs.');
    expect(text).toContain("Seen during the runs, not counted (other processes' doing): text: pid 7 ended during the run.");
  });
});
