// Small helpers shared by the gatherers: errors as short words, numbers and strings from JSON.

/** An error as a user reads it: its errno code (ENOENT) or its message. */
export function errText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e.code === 'string') return e.code;
  return e instanceof Error ? e.message : String(err);
}

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
export const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
export const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
/** A count (whole, >= 0), or null: the report's shape promises whole numbers there. */
export const count = (v: unknown): number | null => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : null);
/** An agent's named counters: the counts among them, whichever names this build knows or not. */
export function counts(v: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, x] of Object.entries(isObject(v) ? v : {})) {
    const n = count(x);
    if (n !== null) out[k] = n;
  }
  return out;
}
export const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
/** An ISO 8601 time, or null: a malformed one from an agent must not break the report's shape. */
export const isoTime = (v: unknown): string | null => (typeof v === 'string' && /^\d{4}-\d\d-\d\dT/.test(v) && !Number.isNaN(Date.parse(v)) ? v : null);
export const strings = (v: unknown): string[] => arr(v).filter((x): x is string => typeof x === 'string');

/** key=value lines, as wpa_supplicant and hostapd answer STATUS. */
export function keyValues(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) m.set(line.slice(0, i), line.slice(i + 1).trimEnd());
  }
  return m;
}

export function intOrNull(s: string | undefined): number | null {
  if (s === undefined || !/^-?\d+$/.test(s.trim())) return null;
  return Number(s.trim());
}

/** 3725 -> "1h02m", 86400*3 -> "3d0h". */
export function duration(sec: number): string {
  const s = Math.max(0, Math.round(sec));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

export function kib(n: number | null): string {
  if (n === null) return '?';
  return n >= 10 * 1024 ? `${(n / 1024).toFixed(0)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} MiB` : `${n} KiB`;
}
