// Links, addresses and routes, from iproute2's JSON output (`ip -j addr`, `ip -j route`).
import type { DiagOptions } from './options';
import type { LinkInfo, RouteInfo } from './report';
import type { DiagSystem } from './system';
import { arr, isObject, num, str, strings } from './util';

export function parseIpAddr(json: string): LinkInfo[] {
  return arr(JSON.parse(json))
    .filter(isObject)
    .map((l) => {
      const flags = strings(l.flags);
      return {
        name: str(l.ifname) ?? '?',
        state: str(l.operstate) ?? 'UNKNOWN',
        up: flags.includes('UP'),
        carrier: flags.includes('LOWER_UP'),
        mac: str(l.address),
        mtu: num(l.mtu),
        addresses: arr(l.addr_info)
          .filter(isObject)
          .flatMap((a) => {
            const family = a.family === 'inet' ? 4 : a.family === 'inet6' ? 6 : null;
            const address = str(a.local);
            const prefixLength = num(a.prefixlen);
            return family && address && prefixLength !== null ? [{ family, address, prefixLength, scope: str(a.scope) }] : [];
          }),
      };
    });
}

export function parseIpRoute(json: string): RouteInfo[] {
  return arr(JSON.parse(json))
    .filter(isObject)
    .map((r) => ({
      dst: str(r.dst) ?? '?',
      gateway: str(r.gateway),
      dev: str(r.dev),
      protocol: str(r.protocol),
      src: str(r.prefsrc),
    }));
}

interface InterfacesView {
  error: string | null;
  links: LinkInfo[];
  routes: RouteInfo[];
  /** Interfaces the kernel has (/sys/class/net): known even when `ip` is missing. */
  present: string[] | null;
}

async function ipJson<T>(sys: DiagSystem, opts: DiagOptions, args: string[], parse: (s: string) => T): Promise<{ value: T } | { error: string }> {
  const argv = [opts.tools.ip, '-j', ...args];
  const r = await sys.run(argv, opts.timeoutMs * 3);
  if (r.code !== 0) return { error: `${argv.join(' ')}: ${r.stderr.trim().split('\n')[0] || `exit ${r.code}`}` };
  try {
    return { value: parse(r.stdout) };
  } catch {
    return { error: `${argv.join(' ')}: output is not JSON (an ip without -j, e.g. busybox's?)` };
  }
}

export async function readInterfaces(sys: DiagSystem, opts: DiagOptions): Promise<InterfacesView> {
  const [addr, route] = await Promise.all([ipJson(sys, opts, ['addr', 'show'], parseIpAddr), ipJson(sys, opts, ['-4', 'route', 'show'], parseIpRoute)]);
  let present: string[] | null;
  try {
    present = sys.list(opts.sysClassNet);
  } catch {
    present = null;
  }
  const errors = [addr, route].flatMap((x) => ('error' in x ? [x.error] : []));
  return {
    error: errors.length ? errors.join('; ') : null,
    links: 'value' in addr ? addr.value : [],
    routes: 'value' in route ? route.value : [],
    present,
  };
}
