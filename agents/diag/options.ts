// Every place wifibox-diag looks, as one options object whose defaults are the guest's paths.

export interface DiagOptions {
  initSocket: string;
  passthruSocket: string;
  /** wpa_supplicant's and hostapd's control socket folders. */
  wpaSupplicantDir: string;
  hostapdDir: string;
  wirelessInterface: string;
  lanInterface: string;
  /** Used when wifibox-init cannot say where it rendered udhcpd's config. */
  udhcpdConf: string;
  /** Used when the rendered config names no lease_file. */
  udhcpdLeases: string;
  syslogFile: string;
  kmsg: string;
  proc: string;
  sysClassNet: string;
  sysBusPci: string;
  /** Where the private socket for talking to the control socket is made (and removed). */
  tmpDir: string;
  /** Read for the bundle only. */
  confDir: string;
  /** Where `bundle` writes when given no FILE: /var is the host's run folder, so the host sees it. */
  bundleDir: string;
  wpaSupplicantConfDir: string;
  hostapdConfDir: string;
  tools: { ip: string; iptablesSave: string; dmesg: string };
  /** Longest wait for one status endpoint, control request or command. */
  timeoutMs: number;
  /** How many warning/error lines of the syslog to keep. */
  logLines: number;
}

export const DEFAULTS: DiagOptions = {
  initSocket: '/run/wifibox-init.sock',
  passthruSocket: '/run/wifibox-passthru.sock',
  wpaSupplicantDir: '/var/run/wpa_supplicant',
  hostapdDir: '/var/run/hostapd',
  wirelessInterface: 'wlan0',
  lanInterface: 'eth0',
  udhcpdConf: '/tmp/udhcpd.conf',
  udhcpdLeases: '/var/lib/misc/udhcpd.leases',
  syslogFile: '/var/log/messages',
  kmsg: '/dev/kmsg',
  proc: '/proc',
  sysClassNet: '/sys/class/net',
  sysBusPci: '/sys/bus/pci',
  tmpDir: '/tmp',
  confDir: '/media/etc',
  bundleDir: '/var/log',
  wpaSupplicantConfDir: '/etc/wpa_supplicant',
  hostapdConfDir: '/etc/hostapd',
  tools: { ip: 'ip', iptablesSave: 'iptables-save', dmesg: 'dmesg' },
  timeoutMs: 1000,
  logLines: 20,
};
