// The one kind of timer the agents arm: once, cancellable, and never what keeps a process alive
// (its servers and watches do that); each agent's system.ts hands it out.
export interface Timer {
  cancel(): void;
}

/** Runs `fn` once after `ms` unless cancelled first. */
export function after(ms: number, fn: () => void): Timer {
  const t = setTimeout(fn, ms);
  t.unref();
  return { cancel: () => clearTimeout(t) };
}
