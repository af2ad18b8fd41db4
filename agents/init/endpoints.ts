// The two UNIX endpoints wifibox-init serves: its status (one JSON document, for wifibox-diag
// and people) and the dhcpcd hook's reports (dhcpcd's variables, one event per connection).
import type { Logger } from 'pino';
import type { InitSystem, Served } from './system';

interface EndpointHandlers {
  status(): object;
  /** A report from the dhcpcd hook: dhcpcd-run-hooks(8) variables by name. */
  hookReport(env: Record<string, string>): void;
}

const MAX_HOOK_REPORT = 65_536;

/** The hook's report (native/dhcpcd_hook.c): NUL-terminated `name=value` strings; null when malformed. */
export function parseHookReport(report: string): Record<string, string> | null {
  const env: Record<string, string> = {};
  for (const kv of report.split('\0')) {
    if (kv === '') continue;
    const eq = kv.indexOf('=');
    const name = kv.slice(0, eq);
    if (eq < 1 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return null;
    env[name] = kv.slice(eq + 1);
  }
  return typeof env.reason === 'string' ? env : null;
}

export function serveEndpoints(sys: InitSystem, paths: { status: string; hook: string }, handlers: EndpointHandlers, log: Logger): Served[] {
  const failed = (what: string) => (err: Error) => log.error({ err: err.message }, `${what} endpoint failed`);
  const status = sys.serve({ path: paths.status, readRequest: false, maxRequest: 0, answer: () => `${JSON.stringify(handlers.status())}\n` }, failed('status'));
  const hook = sys.serve(
    {
      path: paths.hook,
      readRequest: true,
      maxRequest: MAX_HOOK_REPORT,
      answer(request) {
        const env = parseHookReport(request);
        if (env === null) {
          log.warn('bad report from the dhcpcd hook: expected NUL-terminated name=value strings with a reason');
          return 'FAIL\n';
        }
        handlers.hookReport(env);
        return 'OK\n';
      },
    },
    failed('hook'),
  );
  return [status, hook];
}
