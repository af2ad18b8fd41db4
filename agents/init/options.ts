// wifibox-init's settings: the guest's paths and programs (options of main.ts, each with the
// guest's real value as its default) and the timings that can be tuned.

interface InitTools {
  ip: string;
  iptablesRestore: string;
  ip6tablesRestore: string;
  iptables: string;
  ip6tables: string;
  dhcpcd: string;
  udhcpd: string;
  radvd: string;
}

export interface InitOptions {
  confDir: string;
  procSys: string;
  /** The kernel's IPv4 neighbour table: where udhcpd's host is seen using its address. */
  arpTable: string;
  sysClassNet: string;
  sysBusPci: string;
  runDir: string;
  /** dhcpcd's RUNDIR: its control sockets and pid file. */
  dhcpcdRunDir: string;
  tmpDir: string;
  statusSocket: string;
  hookSocket: string;
  hookPath: string;
  resolvConf: string;
  lanInterface: string;
  wirelessInterface: string;
  /** Lease time handed out until the wireless DNS is known, so hosts come back for it soon. */
  shortLeaseSeconds: number;
  /** How often udhcpd writes its lease file when the template does not say (auto_time). */
  leaseWriteSeconds: number;
  tools: InitTools;
}
