#!/usr/bin/env node
// busybox udhcpc's script for the lab's DHCP clients (never the machine's own: that one would
// rewrite /etc/resolv.conf). It records each event as a JSON line and applies the lease to the
// interface, inside the namespace udhcpc runs in. Plain JS: udhcpc executes it directly.
'use strict';
const { appendFileSync } = require('node:fs');
const { spawnSync } = require('node:child_process');

const e = process.env;
const event = process.argv[2] || '';
const pick = ['interface', 'ip', 'subnet', 'mask', 'router', 'dns', 'domain', 'search', 'lease', 'serverid'];
const rec = { event, at: Date.now() };
for (const k of pick) if (e[k] !== undefined) rec[k] = e[k];
if (e.LAB_DHCP_EVENTS) appendFileSync(e.LAB_DHCP_EVENTS, JSON.stringify(rec) + '\n');

const ip = (...args) => spawnSync('ip', args, { stdio: 'ignore' });
const prefix = (mask) => (mask || '255.255.255.0').split('.').reduce((n, o) => n + (Number(o) >>> 0).toString(2).split('1').length - 1, 0);

if (event === 'deconfig') {
  ip('addr', 'flush', 'dev', e.interface);
  ip('link', 'set', e.interface, 'up');
} else if (event === 'bound' || event === 'renew') {
  ip('addr', 'replace', `${e.ip}/${e.mask && /^\d+$/.test(e.mask) ? e.mask : prefix(e.subnet)}`, 'dev', e.interface);
  const router = (e.router || '').split(' ')[0];
  if (router) ip('route', 'replace', 'default', 'via', router, 'dev', e.interface);
}
