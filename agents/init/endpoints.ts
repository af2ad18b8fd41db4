// The two UNIX endpoints wifibox-init serves: its status (one JSON document, for wifibox-diag
// and people) and the dhcpcd hook's reports (one JSON object of dhcpcd's variables per event).
import type { Logger } from 'pino';
import type { InitSystem, Served } from './system';

export interface EndpointHandlers {
  status(): object;
  /** A report from the dhcpcd hook: dhcpcd-run-hooks(8) variables by name. */
  hookReport(env: Record<string, string>): void;
}

const MAX_HOOK_REPORT = 65_536;

export function serveEndpoints(sys: InitSystem, paths: { status: string; hook: string }, handlers: EndpointHandlers, log: Logger): Served[] {
  const failed = (what: string) => (err: Error) => log.error({ err: err.message }, `${what} endpoint failed`);
  const status = sys.serve(
    { path: paths.status, readRequest: false, maxRequest: 0, answer: () => `${JSON.stringify(handlers.status())}\n` },
    failed('status'),
  );
  const hook = sys.serve(
    {
      path: paths.hook,
      readRequest: true,
      maxRequest: MAX_HOOK_REPORT,
      answer(request) {
        let env: unknown;
        try {
          env = JSON.parse(request);
        } catch (err) {
          log.warn({ err: (err as Error).message }, 'bad report from the dhcpcd hook');
          return 'FAIL\n';
        }
        if (env === null || typeof env !== 'object' || Array.isArray(env) || Object.values(env).some((v) => typeof v !== 'string')) {
          log.warn('bad report from the dhcpcd hook: expected an object of strings');
          return 'FAIL\n';
        }
        handlers.hookReport(env as Record<string, string>);
        return 'OK\n';
      },
    },
    failed('hook'),
  );
  return [status, hook];
}
