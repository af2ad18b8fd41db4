// The old sequence, as the Wifibox guest's OpenRC runs it at boot, rebuilt in a lab guest from the
// same Debian programs: what the init benchmark compares wifibox-init with.
//
// In the guest image (freebsd-wifibox-alpine, Makefile): `sysctl` and `networking` are in the boot
// runlevel, `iptables` and `udhcpd` in the default one. OpenRC orders the boot runlevel by the
// services' dependencies (sysctl: before bootmisc; networking: after bootmisc) and starts the default
// runlevel only once boot is done (iptables: after sysctl; udhcpd: need net, after firewall). So:
//   sysctl -p  →  ifup -a (ifupdown-ng; its dhcp executor runs dhcpcd, which stays in the foreground
//   until it has a lease, and dhcpcd runs its hooks, 99-udhcpd.conf among them)  →  iptables-restore
//   →  udhcpd with the config the hook rendered.
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab } from '../lab/lab';
import { globalSysctlKeys } from '../lab/guest-files';

/** The folder, in the guest's own /run, that holds everything below. */
const OLD_DIR = '/run/old-boot';
/** Lines "<what> <epoch ms>" the boot script and the hook append as they go. */
const OLD_MARKS = `${OLD_DIR}/marks`;

/** The guest's /etc/network/interfaces, as the ifupdown-ng package of the guest image installs it. */
const INTERFACES = 'auto lo\niface lo inet loopback\n\nauto eth0\nauto wlan0\n\nsource /media/etc/interfaces.conf\n';

// The hooks Alpine's dhcpcd package installs (make proginstall) are 01-test, 20-resolv.conf and
// 30-hostname; the guest image adds 99-udhcpd.conf (and 99-radvd.conf, which only matters with the
// IPv6 overlay, not used here). The first three are taken from this machine's dhcpcd (Debian).
const DEBIAN_HOOKS = ['01-test', '20-resolv.conf', '30-hostname'];
const DEBIAN_HOOK_DIR = '/usr/lib/dhcpcd/dhcpcd-hooks';

/**
 * The upstream hook (freebsd-wifibox-alpine aports/dhcpcd/99-udhcpd.conf, BSD-2-Clause), line for
 * line, with three lab changes marked "lab:": the template path (upstream /etc/udhcpd.conf is a
 * symlink to it), OpenRC's `service` command (there is no OpenRC here), and one line that notes
 * when the hook ran and for which reason.
 */
const UDHCPD_HOOK = `# Update domain name server IPv4 addresses and
# restart udhcpd on reconfiguration of the interface.

RESOLV_CONF="/etc/resolv.conf"
UDHCPD_CONF="/tmp/udhcpd.conf"
UDHCPD_CONF_TEMPLATE="/media/etc/udhcpd.conf" # lab: upstream /etc/udhcpd.conf -> /media/etc/udhcpd.conf

if $if_configured; then
  [ ! -f "$RESOLV_CONF" ] && return
  echo "hook:$reason $(date +%s%3N)" >> ${OLD_MARKS} # lab: when it ran

  # Get the IPv4 name servers only.
  dns=$(grep -F nameserver $RESOLV_CONF | cut -c 12- | grep -E "^[0-9\\.]*$" | tr '\\n' ' ')
  domain=$(grep -F domain $RESOLV_CONF | cut -c 8- | tail -1)
  search=$(grep -F search $RESOLV_CONF | cut -c 8- | tail -1)

  cat $UDHCPD_CONF_TEMPLATE \\
    | sed "s!%%DNS%%!$dns!;s!%%DOMAIN%%!$domain!;s!%%SEARCH%%!$search!" \\
    > $UDHCPD_CONF
  chmod a+r "$UDHCPD_CONF"
  ${OLD_DIR}/service-udhcpd --ifstarted restart # lab: upstream \`service udhcpd --ifstarted restart\`
fi
`;

/**
 * OpenRC's `service udhcpd --ifstarted restart`, for this lab: nothing unless udhcpd is started
 * (at boot it is not yet: OpenRC starts it after networking), else stop it and start it again.
 * busybox udhcpd writes /var/run/udhcpd.pid (its default pidfile), here in the guest's own /run.
 */
const SERVICE_UDHCPD = `#!/bin/sh
[ "$1" = --ifstarted ] && [ "$2" = restart ] || exit 2
pid=$(cat /run/udhcpd.pid 2>/dev/null) || exit 0
kill -0 "$pid" 2>/dev/null || exit 0
kill "$pid"
while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
exec /run/lab-bin/udhcpd /tmp/udhcpd.conf
`;

/**
 * What OpenRC runs, one service after the other, each waiting for the one before (OpenRC starts
 * a service only when what it depends on is started). Between them a mark with the time (one
 * \`date\` each, about a millisecond). The last one execs udhcpd, so the lab tracks it by PID.
 */
const BOOT = `#!/bin/sh
mark() { echo "$1 $(date +%s%3N)" >> ${OLD_MARKS}; }
sysctl -p /media/etc/sysctl.conf > /dev/null   # sysctl (boot runlevel)
mark sysctl
ifup -a -i ${OLD_DIR}/interfaces               # networking (boot runlevel)
mark networking
iptables-restore < /media/etc/iptables         # iptables (default runlevel)
mark iptables
exec /run/lab-bin/udhcpd -f /tmp/udhcpd.conf   # udhcpd (default runlevel)
`;

/**
 * Lays the old sequence's files out in the guest and gives the guest the folders the real one
 * has: dhcpcd's hook folder with the upstream hook, and an empty /etc/network (so ifupdown-ng
 * finds no addon scripts of this machine's, as on the guest, whose if-*.d folders are empty).
 * Refuses to go on unless every machine-wide sysctl the guest's sysctl.conf sets, and the
 * hostname dhcpcd's 30-hostname hook may write, are the lab's files in the guest.
 */
export async function prepareOldSequence(lab: Lab): Promise<void> {
  for (const key of ['kernel.hostname', ...globalSysctlKeys(join(lab.dir, 'appliance'))]) {
    const path = `/proc/sys/${key.replace(/\./g, '/')}`;
    if (!(await lab.isGuestMountPoint(path))) throw new Error(`refusing to run the old sequence: ${path} is not the lab's own file in the guest`);
  }
  const dir = lab.guestPath(OLD_DIR);
  mkdirSync(join(dir, 'hooks'), { recursive: true });
  for (const d of ['if-down.d', 'if-post-down.d', 'if-pre-up.d', 'if-up.d']) mkdirSync(join(dir, 'etc-network', d), { recursive: true });
  for (const h of DEBIAN_HOOKS) copyFileSync(join(DEBIAN_HOOK_DIR, h), join(dir, 'hooks', h));
  writeFileSync(join(dir, 'hooks', '99-udhcpd.conf'), UDHCPD_HOOK);
  writeFileSync(join(dir, 'interfaces'), INTERFACES);
  for (const [name, text] of [
    ['service-udhcpd', SERVICE_UDHCPD],
    ['boot.sh', BOOT],
  ] as const) {
    writeFileSync(join(dir, name), text);
    chmodSync(join(dir, name), 0o755);
  }
  writeFileSync(lab.guestPath(OLD_MARKS), '');
  await lab.bindInGuest(`${OLD_DIR}/hooks`, DEBIAN_HOOK_DIR, true);
  await lab.bindInGuest(`${OLD_DIR}/etc-network`, '/etc/network', true);
}

/** The argv that starts the old sequence in the guest. */
export const OLD_BOOT_ARGV = ['/bin/sh', `${OLD_DIR}/boot.sh`];

/** The marks so far, in order: the boot script's steps and `hook:<dhcpcd's reason>`, each with its time (epoch ms). */
export function oldMarks(lab: Lab): { what: string; at: number }[] {
  const file = lab.guestPath(OLD_MARKS);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((line) => {
      const [what, at] = line.split(' ');
      return what && at ? [{ what, at: Number(at) }] : [];
    });
}
