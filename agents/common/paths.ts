// The guest's fixed places, in one object. Every agent's options default to these, and each one
// can be changed on the command line: tests and the lab point them elsewhere.

export const GUEST_PATHS = {
  /** The host's appliance folder (…/etc/wifibox/appliance/, read-only 9P): the only place users edit. */
  confDir: '/media/etc',
  initRunDir: '/run/wifibox-init',
  /** Where dhcpcd keeps its control sockets and pid file (its RUNDIR). */
  dhcpcdRunDir: '/run/dhcpcd',
  initStatusSocket: '/run/wifibox-init.sock',
  passthruRunDir: '/run/wifibox-passthru',
  passthruStatusSocket: '/run/wifibox-passthru.sock',
  // A folder of its own: wifibox-forward drops root, and must still remove its socket when it stops.
  forwardRunDir: '/run/wifibox-forward',
  forwardStatusSocket: '/run/wifibox-forward/status.sock',
  /** The wireless daemons' control socket folders. */
  wpaSupplicantDir: '/var/run/wpa_supplicant',
  hostapdDir: '/var/run/hostapd',
  /** The wireless daemons' configuration folders. */
  wpaSupplicantConfDir: '/etc/wpa_supplicant',
  hostapdConfDir: '/etc/hostapd',
  resolvConf: '/etc/resolv.conf',
  proc: '/proc',
  /** The kernel's IPv4 neighbours (of the namespace that reads it). */
  arpTable: '/proc/net/arp',
  procSys: '/proc/sys',
  sysClassNet: '/sys/class/net',
  sysBusPci: '/sys/bus/pci',
  /** A 128 KiB tmpfs: udhcpd.conf and radvd.conf are rendered here. */
  tmp: '/tmp',
  udhcpdLeases: '/var/lib/misc/udhcpd.leases',
  syslogSocket: '/dev/log',
  syslogFile: '/var/log/messages',
  kmsg: '/dev/kmsg',
  /** /var is the host's run folder: a file written under /var/log is one the host can pick up. */
  bundleDir: '/var/log',
} as const;

/** eth0 faces the host, wlan0 the wireless network. */
export const GUEST_INTERFACES = { lan: 'eth0', wireless: 'wlan0' } as const;
