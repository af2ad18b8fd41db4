// V8's --trace-gc lines in an agent's log, read back: when the soak runs the agents with it, their
// garbage collections say whether a growing figure is live memory (what a mark-compact leaves) or
// garbage the old generation has not been collected of yet.

export interface GcRun {
  count: number;
  /** The heap after the first and after the last of them, MB (V8's MB: 2²⁰ bytes). */
  firstAfterMB: number;
  lastAfterMB: number;
}

export interface GcSummary {
  /** Full collections: what is left after one is live. */
  markCompacts: GcRun | null;
  /** Young-generation collections: what is left after one includes the old generation's garbage. */
  scavenges: GcRun | null;
}

// [12841:0x9dddf40]   242835 ms: Scavenge 6.0 (6.1) -> 5.0 (6.4) MB, 0.50 / 0.00 ms  (average mu = …
// [12841:0x9dddf40]     8238 ms: Mark-Compact (reduce) 6.2 (7.6) -> 4.5 (6.4) MB, 2.90 / 0.01 ms  (…
const LINE = /^\[\d+:0x[0-9a-f]+\]\s+\d+ ms: (Scavenge|Mark-Compact)\b[^\d]*[\d.]+ \([\d.]+\) -> ([\d.]+) \([\d.]+\) MB/gm;

export function summarizeGcTrace(text: string): GcSummary {
  const after: Record<string, number[]> = { Scavenge: [], 'Mark-Compact': [] };
  for (const m of text.matchAll(LINE)) after[m[1]!]!.push(Number(m[2]));
  const run = (list: number[]): GcRun | null => (list.length ? { count: list.length, firstAfterMB: list[0]!, lastAfterMB: list.at(-1)! } : null);
  return { markCompacts: run(after['Mark-Compact']!), scavenges: run(after.Scavenge!) };
}
