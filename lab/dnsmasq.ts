// dnsmasq as the lab runs it (Debian's): the wireless network's DNS servers and router, and the
// dns-cache bench's caching forwarder in the guest.

/**
 * dnsmasq's command line: in the foreground, knowing nothing of this machine's (no config file,
 * no resolv.conf, no /etc/hosts), bound only where `bind` says (`--listen-address=…` or
 * `--interface=…`), DNS on port 53, as nobody, its log on stderr; then `extra`.
 */
export function dnsmasqArgv(bind: string, pidFile: string, extra: readonly string[]): string[] {
  return [
    'dnsmasq',
    '--keep-in-foreground',
    '--conf-file=/dev/null',
    '--no-resolv',
    '--no-hosts',
    '--bind-interfaces',
    bind,
    '--port=53',
    '--user=nobody',
    '--group=nogroup',
    `--pid-file=${pidFile}`,
    '--log-facility=-',
    ...extra,
  ];
}
