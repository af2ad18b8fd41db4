// One diagnosis: gather the facts, apply the rules, stamp the report.
import { VERSION } from '../common/cli';
import { gather } from './gather';
import type { DiagOptions } from './options';
import type { DiagReport, Facts } from './report';
import { diagnose, healthOf } from './rules';
import type { DiagSystem } from './system';

export function buildReport(facts: Facts, opts: DiagOptions, started: Date, now: Date): DiagReport {
  const problems = diagnose({ facts, opts, now });
  return {
    tool: 'wifibox-diag',
    version: VERSION,
    generatedAt: now.toISOString(),
    durationMs: now.getTime() - started.getTime(),
    ...healthOf(problems),
    problems,
    ...facts,
  };
}

export async function diagnoseGuest(sys: DiagSystem, opts: DiagOptions): Promise<DiagReport> {
  const started = sys.now();
  const facts = await gather(sys, opts);
  return buildReport(facts, opts, started, sys.now());
}
