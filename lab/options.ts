// What a lab is built from: the options Lab.up() takes, and their defaults.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { BudgetOptions } from './budget';
import type { Flavor } from './namespaces';
import { defaultUpstreamDir, repoRoot } from './paths';

export interface LabOptions {
  flavor?: Flavor;
  /** The upstream-config folder (default: the repository's own copy). */
  upstreamDir?: string;
  /** Where the bundled agents live (default: <repo>/dist). */
  distDir?: string;
  /** Networks added to wpa_supplicant.conf so each test client can read its own ssid. */
  clientNetworks?: number;
  /** Left running after this process exits (`npm run lab`); tests use false. */
  persistent?: boolean;
  /** Give the guest its static addresses here (false: the init orchestrator does it). */
  configureGuest?: boolean;
  /** The host gets its address by DHCP from the guest (default: when the guest is not configured here, station flavor). */
  hostDhcp?: boolean;
  /** wlan0 is plugged in later, by plugWlan() (a driver that loads late). */
  lateWlan?: boolean;
  /** Upstream overlay folders copied over the appliance samples, e.g. 'optional/ipv6/wpa_supplicant/appliance'. */
  overlays?: string[];
  /** Every guest process in a memory cgroup and a cpuset (lab/budget.ts); null: no limit. */
  budget?: BudgetOptions | null;
  /** Node flags for the resident agents besides the package's own (its /usr/sbin wrapper's), e.g. --trace-gc. */
  agentNodeFlags?: string[];
}

export type ResolvedLabOptions = Required<LabOptions>;

/** Every option with its default; the upstream samples must be there. */
export function withDefaults(options: LabOptions): ResolvedLabOptions {
  const flavor = options.flavor ?? 'wpa_supplicant';
  const resolved = {
    flavor,
    upstreamDir: options.upstreamDir ?? defaultUpstreamDir(),
    distDir: options.distDir ?? join(repoRoot(), 'dist'),
    clientNetworks: options.clientNetworks ?? 64,
    persistent: options.persistent ?? false,
    configureGuest: options.configureGuest ?? true,
    hostDhcp: options.hostDhcp ?? (options.configureGuest === false && flavor === 'wpa_supplicant'),
    lateWlan: options.lateWlan ?? false,
    overlays: options.overlays ?? [],
    budget: options.budget ?? null,
    agentNodeFlags: options.agentNodeFlags ?? [],
  };
  if (!existsSync(join(resolved.upstreamDir, flavor, 'appliance'))) {
    throw new Error(`upstream samples not found at ${resolved.upstreamDir}`);
  }
  return resolved;
}
