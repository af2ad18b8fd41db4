// The plan is what the orchestrator will do, checked before anything runs: from the upstream
// samples (both flavors, the IPv6 overlays) and from broken ones.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { UPSTREAM } from '../helpers/paths';
import { sampleConfig } from '../helpers/samples';
import { formatPlan, isForwardingKey, makePlan, type Plan } from '../../agents/init/plan';

const OPTS = { lanInterface: 'eth0', wirelessInterface: 'wlan0' };

const guest = sampleConfig;

const ids = (p: Plan) => p.steps.map((s) => s.id);
const after = (p: Plan, id: string) => p.steps.find((s) => s.id === id)?.after;

describe('init plan', () => {
  it('the DNS relay: in the station flavor unless wifibox-agents.conf says relay = no; never for an access point', () => {
    const off = makePlan(guest(['wpa_supplicant/appliance'], { 'wifibox-agents.conf': () => '[init]\nrelay = no\n' }), OPTS);
    expect(ids(off)).not.toContain('dns-relay');
    expect(ids(makePlan(guest(['hostapd/appliance']), OPTS))).not.toContain('dns-relay');
  });

  it('station samples: udhcpd on eth0 does not wait for the wireless side; forwarding waits for the NAT', () => {
    expect(existsSync(UPSTREAM)).toBe(true);
    const cfg = guest(['wpa_supplicant/appliance']);
    expect(cfg.problems).toEqual([]);
    const plan = makePlan(cfg, OPTS);
    expect(plan.flavor).toBe('station');
    expect(ids(plan)).toEqual([
      'hostname',
      'sysctl',
      'firewall',
      'forwarding',
      'link:lo',
      'iface:eth0',
      'wait:wlan0',
      'iface:wlan0',
      'udhcpd',
      'dhcpcd',
      'dns-relay',
    ]);
    expect(after(plan, 'dns-relay')).toEqual(['iface:eth0']);
    expect(after(plan, 'udhcpd')).toEqual(['iface:eth0']);
    expect(after(plan, 'dhcpcd')).toEqual(['iface:wlan0']);
    expect(after(plan, 'iface:wlan0')).toEqual(['wait:wlan0']);
    expect(after(plan, 'forwarding')).toEqual(['firewall']);
    // ip_forward is not among the plain sysctl writes: only the forwarding step sets it.
    const sysctl = plan.steps.find((s) => s.id === 'sysctl')!.action;
    expect(sysctl.kind === 'sysctl' && sysctl.entries.map((e) => e.key)).not.toContain('net.ipv4.ip_forward');
    expect(formatPlan(plan)).toMatch(/^udhcpd +serve DHCP on eth0 \(udhcpd\) +\[after iface:eth0\]$/m);
  });

  it('access-point samples: udhcpd serves wlan0 once it is configured; no dhcpcd', () => {
    const cfg = guest(['hostapd/appliance']);
    expect(cfg.problems).toEqual([]);
    const plan = makePlan(cfg, OPTS);
    expect(plan.flavor).toBe('access-point');
    expect(ids(plan)).not.toContain('dhcpcd');
    expect(after(plan, 'udhcpd')).toEqual(['iface:wlan0']);
    expect(plan.steps.find((s) => s.id === 'iface:eth0')!.what).toBe('configure eth0 (10.0.0.2/24 via 10.0.0.1)');
  });

  it('IPv6 overlays: ip6tables, IPv6 forwarding after it, radvd on its interface', () => {
    for (const flavor of ['wpa_supplicant', 'hostapd']) {
      const cfg = guest([`${flavor}/appliance`, `optional/ipv6/${flavor}/appliance`]);
      expect(cfg.problems).toEqual([]);
      const plan = makePlan(cfg, OPTS);
      expect(ids(plan)).toEqual(expect.arrayContaining(['firewall6', 'forwarding6', 'radvd']));
      // The overlay's sysctl files do not switch IPv6 forwarding on; loading ip6tables does.
      const f6 = plan.steps.find((s) => s.id === 'forwarding6')!;
      expect(f6.after).toEqual(['firewall6']);
      expect(f6.action.kind === 'forwarding' && f6.action.entries.map((e) => [e.key, e.value])).toEqual([['net.ipv6.conf.all.forwarding', '1']]);
      const radvd = plan.steps.find((s) => s.id === 'radvd')!;
      expect(radvd.after.length).toBeGreaterThan(0);
      expect(plan.steps.find((s) => s.id === 'iface:eth0')!.what).toMatch(/fd00::/);
    }
  });

  it('a malformed iptables file still has a firewall step, so forwarding waits on it (and stays off)', () => {
    const cfg = guest(['wpa_supplicant/appliance'], { iptables: (t) => t.replace(/COMMIT\s*$/, '') });
    expect(cfg.iptables).toBeNull();
    expect(cfg.problems.some((p) => p.file === '/media/etc/iptables' && p.severity === 'error')).toBe(true);
    const plan = makePlan(cfg, OPTS);
    expect(ids(plan)).toContain('firewall');
    expect(after(plan, 'forwarding')).toEqual(['firewall']);
  });

  it('without an iptables file, forwarding does not wait for one', () => {
    const cfg = guest(['wpa_supplicant/appliance'], {});
    const files = { ...cfg, iptables: null, problems: [] };
    const plan = makePlan(files, OPTS);
    expect(ids(plan)).not.toContain('firewall');
    expect(after(plan, 'forwarding')).toEqual([]);
  });

  it('knows which sysctl keys are forwarding switches', () => {
    expect(isForwardingKey('net.ipv4.ip_forward')).toBe(4);
    expect(isForwardingKey('net.ipv4.conf.all.forwarding')).toBe(4);
    expect(isForwardingKey('net.ipv6.conf.all.forwarding')).toBe(6);
    expect(isForwardingKey('net.ipv4.tcp_syncookies')).toBeNull();
  });
});
