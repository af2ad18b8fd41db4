// wifibox-init's section of /media/etc/wifibox-agents.conf: what a user may change in how the
// wireless lease is taken and in the DNS relay. The man page and the sample list the same keys.
import type { SectionSpec, SettingsOf } from '../common/agents-conf';

export const INIT_SETTINGS = {
  relay: {
    kind: 'boolean',
    default: true,
    help: "answer DNS on the guest's LAN address and ask the wireless network's current servers; no: hand out the wireless DNS itself, renewed by short leases, as before",
  },
  relay_timeout: { kind: 'number', default: 1, min: 0.1, max: 10, unit: 'seconds', help: 'how long one DNS server gets to answer before the next is asked' },
  relay_max_queries: { kind: 'number', default: 256, min: 16, max: 4096, integer: true, help: 'queries relayed at once; more are dropped (and counted)' },
  cache: {
    kind: 'number',
    default: 1000,
    min: 0,
    max: 10_000,
    integer: true,
    help: 'answers the DNS relay keeps (names), each for its TTL, emptied when the wireless network changes; 0: none',
  },
  arp_probe: {
    kind: 'boolean',
    default: false,
    help: 'dhcpcd checks the offered address by ARP before using it (its own default: about 2 s more for every lease)',
  },
  start_delay: { kind: 'boolean', default: false, help: 'dhcpcd waits a random moment (up to 1 s) before it asks for a lease' },
  rapid_commit: {
    kind: 'boolean',
    default: true,
    help: 'ask the wireless DHCP server for a lease in two messages instead of four (used only if the server agrees)',
  },
} as const satisfies SectionSpec;

export type InitSettings = SettingsOf<typeof INIT_SETTINGS>;
