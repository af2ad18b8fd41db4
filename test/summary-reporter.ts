// Prints one plain closing line, "N passed, N failed, N skipped", after vitest's own summary,
// so CI logs state the outcome in a form any reader (or tool) can pick up.
import type { Reporter, RunnerTestFile, RunnerTask } from 'vitest';

function tally(tasks: RunnerTask[], acc = { passed: 0, failed: 0, skipped: 0 }) {
  for (const t of tasks) {
    if (t.type === 'suite') tally(t.tasks, acc);
    else if (t.mode === 'skip' || t.mode === 'todo') acc.skipped++;
    else if (t.result?.state === 'pass') acc.passed++;
    else if (t.result?.state === 'fail') acc.failed++;
    else acc.skipped++;
  }
  return acc;
}

export default class SummaryReporter implements Reporter {
  onFinished(files: RunnerTestFile[] = [], errors: unknown[] = []): void {
    const t = tally(files);
    // A file that failed to load has no tasks: count it as a failure.
    const broken = files.filter((f) => f.result?.state === 'fail' && f.tasks.length === 0).length + errors.length;
    process.stdout.write(`\n${t.passed} passed, ${t.failed + broken} failed, ${t.skipped} skipped\n`);
  }
}
