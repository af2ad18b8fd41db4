// Logs: the syslog file's latest warnings and errors of our agents and the daemons, and the
// kernel's lines about the wireless driver and its firmware.
import type { DiagOptions } from './options';
import type { KernelInfo, LogInfo, LogLine } from './report';
import type { DiagSystem } from './system';
import { errText } from './util';

const PROGRAMS = /^(wifibox-[\w-]+|wpa_supplicant|hostapd|dhcpcd|udhcpd|radvd|kernel)$/;
const LEVELS: Record<string, LogLine['level'] | 'other'> = {
  emerg: 'emerg',
  panic: 'emerg',
  alert: 'alert',
  crit: 'crit',
  err: 'err',
  error: 'err',
  warn: 'warn',
  warning: 'warn',
  notice: 'other',
  info: 'other',
  debug: 'other',
};
// Only when the line carries no level (a syslogd that does not write `facility.level`).
const SOUNDS_BAD = /\b(error|fail(ed|ure)?|fatal|cannot|can't|unable|denied|refus(ed|ing)|timed? ?out|warn(ing)?)\b/i;
/** wpa_supplicant/hostapd words for a key the network does not accept. */
const AUTH_FAILURE =
  /WRONG_KEY|pre-shared key may be incorrect|4-Way Handshake failed|auth_failures=|CTRL-EVENT-AUTH-REJECT|CTRL-EVENT-ASSOC-REJECT|invalid MIC/i;
/** Kernel lines about wireless drivers and firmware. */
const WIRELESS_KERNEL =
  /direct firmware load|firmware(:| file| load).*(fail|error|missing|not found)|(fail|unable)\w* to (load|fetch|request|find) (the )?firmware|\bwlan\d|iwlwifi|iwlmvm|\bath\d+k|\bath\d*\b|\brtw|rtl8\w+|rtlwifi|brcmf|brcmsmac|\bmt7\d+|mt76|mwifiex|cfg80211|mac80211|ieee80211|\bphy\d+\b|wi-?fi|wireless/i;

interface SyslogEntry {
  program: string;
  level: LogLine['level'] | 'other' | null;
  message: string;
}

/**
 * `Jan  2 03:04:05 host daemon.warn prog[pid]: msg` (busybox syslogd) or the same without
 * `facility.level` (other syslogds), with a classic or an ISO 8601 time.
 */
export function parseSyslogLine(line: string): SyslogEntry | null {
  const m = /^(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\S+)\s+\S+\s+(?:([a-z0-9]+)\.([a-z]+)\s+)?([^\s:[]+)(?:\[\d+\])?:\s?(.*)$/.exec(line);
  if (!m) return null;
  return { program: m[3]!, level: m[2] ? (LEVELS[m[2]] ?? null) : null, message: m[4]! };
}

export function selectLogLines(text: string, max: number): { lines: LogLine[]; authLines: string[] } {
  const lines: LogLine[] = [];
  const authLines: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const e = parseSyslogLine(line);
    if (!e || !PROGRAMS.test(e.program)) continue;
    if ((e.program === 'wpa_supplicant' || e.program === 'hostapd') && AUTH_FAILURE.test(e.message)) authLines.push(line);
    if (e.program === 'kernel' && !WIRELESS_KERNEL.test(e.message)) continue;
    const level = e.level ?? (SOUNDS_BAD.test(e.message) ? (/warn/i.test(e.message) ? 'warn' : 'err') : 'other');
    if (level !== 'other') lines.push({ text: line, program: e.program, level });
  }
  return { lines: lines.slice(-max), authLines: authLines.slice(-5) };
}

const SYSLOG_TAIL_BYTES = 256 * 1024;

export function readLog(sys: DiagSystem, opts: DiagOptions): LogInfo {
  let text: string;
  try {
    text = sys.readTail(opts.syslogFile, SYSLOG_TAIL_BYTES);
  } catch (err) {
    return { file: opts.syslogFile, error: errText(err), lines: [], authLines: [] };
  }
  return { file: opts.syslogFile, error: null, ...selectLogLines(text, opts.logLines) };
}

/**
 * Kernel log lines, from /dev/kmsg records (`pri,seq,usec,flags;message`, continuation lines
 * start with a blank) or from dmesg output (`[  1.234] message`).
 */
export function parseKernelLog(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith(' ')) continue;
    const rec = /^\d+,\d+,(\d+),[^;]*;(.*)$/.exec(line);
    if (rec) {
      out.push(`[${(Number(rec[1]) / 1e6).toFixed(6).padStart(12)}] ${rec[2]}`);
      continue;
    }
    out.push(line.replace(/^<\d+>/, ''));
  }
  return out;
}

const KERNEL_LOG_BYTES = 1024 * 1024;
const KERNEL_LINES = 20;

export async function readKernel(sys: DiagSystem, opts: DiagOptions): Promise<KernelInfo> {
  let text: string;
  let source = opts.kmsg;
  try {
    text = sys.readKernelLog(opts.kmsg, KERNEL_LOG_BYTES);
  } catch (err) {
    const kmsgError = `${opts.kmsg}: ${errText(err)}`;
    const r = await sys.run([opts.tools.dmesg], opts.timeoutMs * 3);
    if (r.code !== 0) {
      return { source: opts.kmsg, error: `${kmsgError}; ${opts.tools.dmesg}: ${r.stderr.trim().split('\n')[0] || `exit ${r.code}`}`, wirelessLines: [] };
    }
    text = r.stdout;
    source = opts.tools.dmesg;
  }
  const lines = parseKernelLog(text).filter((l) => WIRELESS_KERNEL.test(l));
  return { source, error: null, wirelessLines: lines.slice(-KERNEL_LINES) };
}
