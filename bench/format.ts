// How the reports write numbers: one definition for each way a figure is written, so that a figure
// reads the same in every section, and a section that writes it differently says so by the name.

/** kB (KiB, as /proc gives them) in MB of 10⁶ bytes, the unit of every memory table. */
export const kbToMB = (kb: number): number => (kb * 1024) / 1e6;

/** kB as MB of 10⁶ bytes, one decimal. */
export const mb = (kb: number): string => kbToMB(kb).toFixed(1);

/** The same, '—' for a figure that is missing. */
export const mbOrDash = (kb: number | null): string => (kb === null || Number.isNaN(kb) ? '—' : mb(kb));

/** Bytes as MB of 10⁶ bytes, one decimal. */
export const mbOfBytes = (bytes: number): string => (bytes / 1e6).toFixed(1);

/** a / b with two decimals and ×; '—' when either is missing or the quotient is not finite (b = 0). */
export const ratio = (a: number | null, b: number | null): string => (a === null || b === null || !Number.isFinite(a / b) ? '—' : `${(a / b).toFixed(2)}×`);

/** A latency in ms: three decimals under 1 ms, two under 100 ms, none above; '—' when not finite. */
export const latencyMs = (v: number): string => (Number.isFinite(v) ? (v < 1 ? v.toFixed(3) : v < 100 ? v.toFixed(2) : v.toFixed(0)) : '—');

/** A program's wall time in ms (tens to hundreds): two decimals under 10 ms, one under 100 ms, none above; '—' for NaN. */
export const wallMs = (v: number): string => (Number.isNaN(v) ? '—' : v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0));

/** Seconds: three decimals under 1 s, two above; '—' when missing. */
export const seconds = (v: number | null | undefined): string => (v === null || v === undefined ? '—' : Math.abs(v) < 1 ? v.toFixed(3) : v.toFixed(2));

/** Three decimals; '—' when missing. */
export const fixed3 = (v: number | null | undefined): string => (v === null || v === undefined ? '—' : v.toFixed(3));

/** ms written as seconds with three decimals; `missing` when there is none. */
export const msAsSeconds = (ms: number | null, missing = '—'): string => (ms === null ? missing : (ms / 1000).toFixed(3));

/** ms written as whole seconds. */
export const wholeSeconds = (ms: number): string => String(Math.round(ms / 1000));

/** Three significant digits, thousands grouped: 0.583, 21.4, 210, 49,851; '—' for NaN. */
export const sig3 = (v: number): string => (Number.isNaN(v) ? '—' : v >= 1000 ? Math.round(v).toLocaleString('en-US') : String(Number(v.toPrecision(3))));

/** A change as a signed percentage with one decimal: +3.2%, -0.5%. */
export const signedPercent = (g: number): string => `${g >= 0 ? '+' : ''}${(g * 100).toFixed(1)}%`;

/** Whether a target is met: ✓ or ✗. */
export const mark = (ok: boolean): string => (ok ? '✓' : '✗');

/** The same as the guest, start, resume and dns-cache sections have always written it: ✅ or ❌. */
export const emojiMark = (ok: boolean): string => (ok ? '✅' : '❌');
