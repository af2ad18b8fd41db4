// Command-line plumbing shared by every agent: options in, usage errors out, --help/--version.
import { parseArgs } from 'node:util';
import { GUEST_PATHS } from './paths';
import { realSettleSystem, settleAfterBursts } from './settle';

// Stamped by the bundler (bundle/build.mjs) from package.json and git; "dev" when run from source.
declare const WIFIBOX_VERSION: string | undefined;
export const VERSION: string = typeof WIFIBOX_VERSION === 'string' ? WIFIBOX_VERSION : 'dev';

export interface OptionSpec {
  type: 'string' | 'boolean';
  default?: string;
  help: string;
  arg?: string; // how the value is shown in --help
}

export class UsageError extends Error {}

/** The logging options of every resident agent (read by createLogger). */
export const LOG_OPTIONS = {
  loglevel: { type: 'string', default: 'warn', arg: 'LEVEL', help: 'none, error, warn, info or debug (as core.conf)' },
  syslog: { type: 'string', default: GUEST_PATHS.syslogSocket, arg: 'PATH', help: 'syslog socket; logs go to stdout when it is absent' },
} as const satisfies Record<string, OptionSpec>;

export function usage(command: string, summary: string, spec: Record<string, OptionSpec>): string {
  const rows = Object.entries(spec).map(([name, s]) => {
    const left = s.type === 'string' ? `--${name} ${s.arg ?? 'VALUE'}` : `--${name}`;
    const def = s.default ? ` (default: ${s.default})` : '';
    return `  ${left.padEnd(28)} ${s.help}${def}`;
  });
  return [
    `Usage: ${command} [options]`,
    '',
    summary,
    '',
    'Options:',
    ...rows,
    `  ${'--help'.padEnd(28)} show this help`,
    `  ${'--version'.padEnd(28)} show the version`,
    '',
  ].join('\n');
}

/**
 * Parses argv against the spec; returns null when --help/--version was handled.
 * Unknown options and missing values are UsageErrors naming the option.
 */
export function parseOptions<S extends Record<string, OptionSpec>>(
  command: string,
  summary: string,
  spec: S,
  argv: string[],
  out: (s: string) => void = (s) => process.stdout.write(s),
): { [K in keyof S]: S[K]['type'] extends 'boolean' ? boolean : string } | null {
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' }, version: { type: 'boolean' } };
  for (const [k, s] of Object.entries(spec)) options[k] = { type: s.type };
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  } catch (err) {
    throw new UsageError(`${command}: ${(err as Error).message.split('\n')[0]}; see --help`);
  }
  if (parsed.values.help) {
    out(usage(command, summary, spec));
    return null;
  }
  if (parsed.values.version) {
    out(`${command} ${VERSION}\n`);
    return null;
  }
  const result: Record<string, string | boolean> = {};
  for (const [k, s] of Object.entries(spec)) {
    const v = parsed.values[k];
    result[k] = v !== undefined ? (v as string | boolean) : s.type === 'boolean' ? false : (s.default ?? '');
  }
  return result as { [K in keyof S]: S[K]['type'] extends 'boolean' ? boolean : string };
}

/** A positive number from an option, or a UsageError naming it. */
export function numberOption(name: string, value: string, min: number, max: number, integer = false): number {
  const n = Number(value);
  // Plain decimal only: Number() would also take '0x10', '1e3' and ' 5 '.
  const form = integer ? /^\d+$/ : /^\d+(\.\d+)?$/;
  if (!form.test(value) || n < min || n > max) {
    throw new UsageError(`--${name}: expected ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}, got '${value}'`);
  }
  return n;
}

interface StopOptions {
  /** Exit code when stopping fails (0 where a supervisor must not see a crash). */
  failCode: number;
  /** A hard exit after this long, whatever still hangs; none when undefined. */
  deadlineMs?: number;
}

/**
 * SIGTERM and SIGINT run `stop` once, then exit: 0 when it went well. Logged, so the reason a
 * service went down is in syslog.
 */
export function stopOnSignals(
  log: { info(o: object, m: string): void; error(o: object, m: string): void },
  stop: () => Promise<void>,
  opts: StopOptions,
): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    if (opts.deadlineMs !== undefined) setTimeout(() => process.exit(0), opts.deadlineMs).unref();
    stop().then(
      () => process.exit(0),
      (err) => {
        log.error({ err: (err as Error).message }, 'error while stopping');
        process.exit(opts.failCode);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/**
 * A resident agent's process: its heap pages given back after each burst of work (settle.ts), and
 * SIGTERM and SIGINT stop the settling, then run `stop`, as stopOnSignals does.
 */
export function residentUntilSignal(
  log: Parameters<typeof stopOnSignals>[0] & { debug(o: object, m: string): void },
  stop: () => Promise<void>,
  opts: StopOptions,
): void {
  const settler = settleAfterBursts(realSettleSystem, (bytes) => log.debug({ bytes }, 'quiet after a burst: heap pages given back'));
  stopOnSignals(
    log,
    () => {
      settler.stop();
      return stop();
    },
    opts,
  );
}

/**
 * Reads the options with `read`; a bad command line is said on stderr (naming the command unless
 * the message already does) and exits 64, as sysexits' EX_USAGE.
 */
export function optionsOrExit<T>(command: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    process.stderr.write(`${err instanceof UsageError ? '' : `${command}: `}${(err as Error).message}\n`);
    process.exit(64);
  }
}
