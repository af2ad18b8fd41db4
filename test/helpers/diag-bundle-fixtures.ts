// The diag bundle's test inputs: realistic guest files with secrets planted in every form they
// take, and a reader of the tar format of the test's own (nothing from agents/diag is reused).
import { gunzipSync } from 'node:zlib';
import { expect } from 'vitest';
import type { BundleInput, BundleSystem } from '../../agents/diag/bundle';
import { REDACTED } from '../../agents/diag/redact';
export const NOW = new Date(Date.UTC(2026, 10, 26, 15, 1, 2));
export const TOP = 'wifibox-diag-20261126-150102';

// ---------------------------------------------------------------------------------------------
// An independent ustar reader: only what a bundle may contain, and every header checked.

export interface TarMember {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  type: string;
  data: Buffer;
}

export function readTar(tar: Buffer): TarMember[] {
  expect(tar.length % 512).toBe(0);
  const members: TarMember[] = [];
  let off = 0;
  for (;;) {
    expect(off + 512).toBeLessThanOrEqual(tar.length);
    const h = tar.subarray(off, off + 512);
    if (h.every((b) => b === 0)) {
      // The end: two zero blocks, and nothing but zeros after them.
      expect(tar.length - off).toBeGreaterThanOrEqual(1024);
      expect(tar.subarray(off).every((b) => b === 0)).toBe(true);
      return members;
    }
    const field = (at: number, len: number): string => h.toString('latin1', at, at + len).replace(/\0[\s\S]*$/, '');
    const num = (at: number, len: number): number => {
      const text = field(at, len).trim();
      expect(text).toMatch(/^[0-7]+$/);
      return parseInt(text, 8);
    };
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
    expect(num(148, 8), `checksum of header at ${off}`).toBe(sum);
    expect(h.toString('latin1', 257, 263)).toBe('ustar\0');
    expect(h.toString('latin1', 263, 265)).toBe('00');
    const prefix = field(345, 155);
    const size = num(124, 12);
    members.push({
      name: prefix ? `${prefix}/${field(0, 100)}` : field(0, 100),
      mode: num(100, 8),
      uid: num(108, 8),
      gid: num(116, 8),
      mtime: num(136, 12),
      type: field(156, 1),
      data: Buffer.from(tar.subarray(off + 512, off + 512 + size)),
    });
    off += 512 + Math.ceil(size / 512) * 512;
  }
}

export const members = (gz: Buffer): TarMember[] => readTar(gunzipSync(gz));
export const byName = (ms: TarMember[]): Map<string, string> => new Map(ms.map((m) => [m.name.slice(TOP.length + 1), m.data.toString('utf8')]));

/** Files by path; a path that is absent cannot be read. */
export function fakeSystem(files: Record<string, string | Buffer>): BundleSystem & { written: Map<string, Buffer> } {
  const written = new Map<string, Buffer>();
  return {
    written,
    read: (p) => (p in files ? Buffer.from(files[p]!) : null),
    writeAtomic: (p, data) => void written.set(p, data),
  };
}

// ---------------------------------------------------------------------------------------------
// Realistic inputs with secrets planted in every form the guest's files have.

export const HEX_PSK = '4f1c2a9be07d3385c61e02fa9d7b44e1a0c8f3b2d6e5971a3c0b8d4f6e2a1907';
export const HEX_PSK_2 = 'a7e3b1c9d5f20468ace13579bdf02468ace13579bdf02468ace13579bdf0abcd';
export const EAP_HASH = '8846f7eaee8fb117ad06bdd830b7586c';

export const WPA_SUPPLICANT_CONF = `ctrl_interface=/var/run/wpa_supplicant
ctrl_interface_group=0
update_config=1

network={
	ssid="HomeNet"
	key_mgmt=WPA-PSK
	psk="S3cr3t-PSK-7781"
	priority=5
}

network={
	ssid="Office"
	key_mgmt=WPA-PSK
	#psk="old-passphrase-1"
	psk=${HEX_PSK}
}

network={
	ssid="Campus"
	key_mgmt=WPA-EAP
	eap=PEAP
	identity="alice@example.edu"
	password="eap-Pa55word"
	ca_cert="/etc/wpa_supplicant/ca.pem"
	phase2="auth=MSCHAPV2"
}

network={
	ssid="SAE-Net"
	key_mgmt=SAE
	sae_password = "sae-Pa55"
	ieee80211w=2
}

network={
	ssid="Legacy"
	key_mgmt=NONE
	wep_key0="wep0-val"
	WEP_KEY1=0a0b0c0d0e
	wep_tx_keyidx=0
}

network={
	ssid="SmartCard"
	key_mgmt=WPA-EAP
	eap=TLS
	identity="dev@example.com"
	client_cert="/etc/cert/dev.pem"
	private_key="/etc/cert/dev.key"
	private_key_passwd="pk-pass-99"
	pin="pin-8642"
}
`;

export const HOSTAPD_CONF = `interface=wlan0
driver=nl80211
ctrl_interface=/var/run/hostapd
ctrl_interface_group=0
ssid=WifiboxAP
hw_mode=g
channel=6
wpa=2
wpa_key_mgmt=WPA-PSK SAE
rsn_pairwise=CCMP
wpa_passphrase=ap-Passphrase-5521
#wpa_passphrase=ap-old-pass-0001
sae_password=sae-ap-Pa55|id=guest
wpa_psk_file=/etc/hostapd/hostapd.wpa_psk
wpa_psk_radius=0
auth_server_addr=10.0.0.9
auth_server_port=1812
auth_server_shared_secret=radius-shh
acct_server_shared_secret=acct-shh-31
radius_das_client=192.168.1.123 das-shh-77
wep_key0=wep0-ap-val
ap_pin=51234567
private_key_passwd=hostapd-pk-44
eap_user_file=/etc/hostapd/hostapd.eap_user
`;

export const WPA_PSK_FILE = `# List of WPA PSKs: MAC address, then the passphrase or the 64-hex PSK.
00:00:00:00:00:00 psk-file-shared-01
keyid=guest 00:11:22:33:44:55 psk-file-guest 02
vlanid=3 00:22:33:44:55:66 ${HEX_PSK_2}
#00:33:44:55:66:77 psk-file-old-03
`;

export const EAP_USER_FILE = `# Phase 1
"alice"	PEAP
# Phase 2
"alice"	MSCHAPV2	"eap-user-pw-1"	[2]
"bob"	TTLS-MSCHAPV2	hash:${EAP_HASH}	[2]
`;

export const SYSLOG = `Nov 26 15:00:58 wifibox daemon.info wpa_supplicant[812]: wlan0: CTRL-RSP-PASSWORD-0:rsp-Pw-19
Nov 26 15:00:59 wifibox daemon.info wpa_supplicant[812]: wlan0: WPA: 4-Way Handshake failed - pre-shared key may be incorrect
Nov 26 15:01:00 wifibox daemon.info wifibox-init[500]: {"level":40,"msg":"hostapd -o wpa_passphrase=log-pass-63 exited"}
Nov 26 15:01:01 wifibox daemon.debug wpa_supplicant[812]: wlan0: Control interface command 'WPS_PIN any 48153624'
Nov 26 15:01:02 wifibox daemon.debug wpa_supplicant[812]: wlan0: Control interface command 'WPS_REG 02:00:00:00:00:01 48153625'
Nov 26 15:01:03 wifibox daemon.debug hostapd[813]: wlan0: Control interface command 'WPS_AP_PIN set 48153626 300'
Nov 26 15:01:04 wifibox daemon.debug wpa_supplicant[812]: p2p-dev-wlan0: Control interface command 'P2P_CONNECT 02:00:00:00:00:02 48153627 display'
Nov 26 15:01:05 wifibox daemon.debug wpa_supplicant[812]: wlan0: Control interface command 'SET_CRED 0 password cred-Pw-4411'
`;

export const REPORT_TEXT = `wifibox-diag: degraded (station)
  wireless-auth-failed: wlan0 could not authenticate to "HomeNet"
    evidence: wpa_supplicant.conf:8: psk="S3cr3t-PSK-7781"
    evidence: wpa_cli set_network 0 psk "S3cr3t-PSK-7781"
    package mirror: https://wifibox:url-Pw-6612@mirror.example.org/alpine
`;

export const REPORT_JSON = {
  health: 'degraded',
  wireless: {
    ssid: 'HomeNet',
    key_mgmt: 'WPA2-PSK',
    config: { psk: 'S3cr3t-PSK-7781', sae_password: 'sae-Pa55', ap_pin: 51234567, identity: 'alice@example.edu', password: null },
    passwords: ['list-pw-1', { nested: 'list-pw-2' }],
  },
  problems: [
    {
      id: 'wireless-auth-failed',
      evidence: ['wpa_supplicant.conf:8: psk="S3cr3t-PSK-7781"', 'hostapd.conf:11: wpa_passphrase=ap-Passphrase-5521'],
    },
  ],
  mirror: 'https://wifibox:url-Pw-6612@mirror.example.org/alpine',
};

export const SECRETS = [
  'S3cr3t-PSK-7781',
  HEX_PSK,
  'old-passphrase-1',
  'eap-Pa55word',
  'sae-Pa55',
  'wep0-val',
  '0a0b0c0d0e',
  'pk-pass-99',
  'pin-8642',
  'ap-Passphrase-5521',
  'ap-old-pass-0001',
  'sae-ap-Pa55',
  'radius-shh',
  'acct-shh-31',
  'das-shh-77',
  'wep0-ap-val',
  '51234567',
  'hostapd-pk-44',
  'psk-file-shared-01',
  'psk-file-guest 02',
  HEX_PSK_2,
  'psk-file-old-03',
  'eap-user-pw-1',
  EAP_HASH,
  'rsp-Pw-19',
  'log-pass-63',
  'url-Pw-6612',
  'list-pw-1',
  'list-pw-2',
  '48153624',
  '48153625',
  '48153626',
  '48153627',
  'cred-Pw-4411',
];

export const KEPT = [
  'key_mgmt=WPA-PSK\n',
  'wpa_key_mgmt=WPA-PSK SAE\n',
  'ssid="HomeNet"',
  'ssid=WifiboxAP',
  'wpa_psk_radius=0',
  'wpa_psk_file=/etc/hostapd/hostapd.wpa_psk',
  'eap_user_file=/etc/hostapd/hostapd.eap_user',
  'ca_cert="/etc/wpa_supplicant/ca.pem"',
  'identity="alice@example.edu"',
  'private_key="/etc/cert/dev.key"',
  'auth_server_addr=10.0.0.9',
  'ctrl_interface=/var/run/wpa_supplicant',
  'wep_tx_keyidx=0',
  // the key stays, only the value goes
  `psk="${REDACTED}"`,
  `#psk="${REDACTED}"`,
  `psk=${REDACTED}`,
  `sae_password = "${REDACTED}"`,
  `WEP_KEY1=${REDACTED}`,
  `wpa_passphrase=${REDACTED}`,
  `#wpa_passphrase=${REDACTED}`,
  `radius_das_client=192.168.1.123 ${REDACTED}`,
  `keyid=guest 00:11:22:33:44:55 ${REDACTED}`,
  `#00:33:44:55:66:77 ${REDACTED}`,
  `"alice"\tMSCHAPV2\t"${REDACTED}"\t[2]`,
  `hash:${REDACTED}\t[2]`,
  `https://wifibox:${REDACTED}@mirror.example.org/alpine`,
  `CTRL-RSP-PASSWORD-0:${REDACTED}`,
  `wlan0: Control interface command 'WPS_PIN ${REDACTED}`,
  `wlan0: Control interface command 'SET_CRED 0 password ${REDACTED}`,
];

export const FILES: Record<string, string> = {
  '/etc/wpa_supplicant/wpa_supplicant.conf': WPA_SUPPLICANT_CONF,
  '/etc/hostapd/hostapd.conf': HOSTAPD_CONF,
  '/etc/hostapd/hostapd.wpa_psk': WPA_PSK_FILE,
  '/etc/hostapd/hostapd.eap_user': EAP_USER_FILE,
  '/var/log/messages': SYSLOG,
};

export const plantedInput = (): BundleInput => ({
  report: REPORT_TEXT,
  json: REPORT_JSON,
  now: NOW,
  files: Object.keys(FILES).map((path) => ({ name: path.slice(path.lastIndexOf('/') + 1), path })),
});

// ---------------------------------------------------------------------------------------------
