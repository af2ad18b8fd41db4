// Every place wifibox-diag looks, as one options object whose defaults are the guest's paths.
import { GUEST_INTERFACES, GUEST_PATHS } from '../common/paths';

export interface DiagOptions {
  initSocket: string;
  passthruSocket: string;
  forwardSocket: string;
  /** wpa_supplicant's and hostapd's control socket folders. */
  wpaSupplicantDir: string;
  hostapdDir: string;
  wirelessInterface: string;
  lanInterface: string;
  /** wifibox-init's run folder: each daemon's last output (`<name>.out`). */
  initRunDir: string;
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
  initSocket: GUEST_PATHS.initStatusSocket,
  initRunDir: GUEST_PATHS.initRunDir,
  passthruSocket: GUEST_PATHS.passthruStatusSocket,
  forwardSocket: GUEST_PATHS.forwardStatusSocket,
  wpaSupplicantDir: GUEST_PATHS.wpaSupplicantDir,
  hostapdDir: GUEST_PATHS.hostapdDir,
  wirelessInterface: GUEST_INTERFACES.wireless,
  lanInterface: GUEST_INTERFACES.lan,
  udhcpdConf: `${GUEST_PATHS.tmp}/udhcpd.conf`,
  udhcpdLeases: GUEST_PATHS.udhcpdLeases,
  syslogFile: GUEST_PATHS.syslogFile,
  kmsg: GUEST_PATHS.kmsg,
  proc: GUEST_PATHS.proc,
  sysClassNet: GUEST_PATHS.sysClassNet,
  sysBusPci: GUEST_PATHS.sysBusPci,
  tmpDir: GUEST_PATHS.tmp,
  confDir: GUEST_PATHS.confDir,
  bundleDir: GUEST_PATHS.bundleDir,
  wpaSupplicantConfDir: GUEST_PATHS.wpaSupplicantConfDir,
  hostapdConfDir: GUEST_PATHS.hostapdConfDir,
  tools: { ip: 'ip', iptablesSave: 'iptables-save', dmesg: 'dmesg' },
  timeoutMs: 1000,
  logLines: 20,
};
