// Takes the secrets out of everything a bug-report bundle carries: wpa_supplicant and hostapd
// configs, hostapd's side files, logs, and the report itself. Only values are replaced, so a
// redacted file still reads like the config it was, and a redacted JSON text still parses.
// It errs toward redacting: a hidden value costs a question, a leaked passphrase costs the network.
import { posix } from 'node:path';

export const REDACTED = '<redacted>';

/** Formats that carry a secret on every line, recognised by file name (or content for psk files). */
type FileKind = 'text' | 'wpa_psk' | 'eap_user' | 'radius_clients' | 'sae_passwords';

/** Keys whose value starts with words that are not secret: an address, a MAC, a NAS id. */
const PARTLY_SECRET: Readonly<Record<string, number>> = { radius_das_client: 1, r0kh: 2, r1kh: 2 };

/** Secret keys whose names none of the patterns in secretKey() catch. */
const SECRET_NAMES = new Set([
  'mka_cak',
  'pac_opaque_encr_key',
  'dpp_csign',
  'dpp_netaccesskey',
  'dpp_ppkey',
  'wps_nfc_dev_pw',
  'ext_password_backend',
  // socat's PROXY address in forwarding.conf: proxyauth=USER:PASSWORD
  'proxyauth',
]);

/** Whether a key (config, JSON, command line) names a secret: psk, wpa_passphrase, *_password... */
export function isSecretKey(key: string): boolean {
  return secretKey(key) !== null;
}

/**
 * Returns how many leading words of the value to keep when the key names a secret, else null.
 * Case, '-' and '.' do not matter: `wpa-psk` (ifupdown) is `wpa_psk`.
 */
function secretKey(raw: string): number | null {
  const k = raw.replace(/^-+/, '').toLowerCase().replace(/[-.]/g, '_');
  const partly = PARTLY_SECRET[k];
  if (partly !== undefined) return partly;
  // wpa_psk_file, eap_user_file, sae_password_file...: where a secret lives, not the secret.
  if (/_(file|path|dir)$/.test(k)) return null;
  if (/password|passphrase|passwd|secret/.test(k)) return 0;
  // `psk` must end the name: wpa_psk_radius=0 and ft_psk_generate_local=1 are switches.
  if (/(^|_)psk$/.test(k) || /^wep_key\d+$/.test(k) || /(^|_)pin\d?$/.test(k) || /_privkey$/.test(k)) return 0;
  return SECRET_NAMES.has(k) ? 0 : null;
}

const alreadyRedacted = (value: string): boolean => value.replace(/^[\\"'\s]+/, '').startsWith(REDACTED);

/**
 * The replacement for a value that runs to the end of the line, or null when there is nothing
 * to hide. Quotes around it stay, so `psk="..."` remains visibly a passphrase and not hex.
 */
function redactValue(value: string, keepWords: number): string | null {
  const trailing = /[ \t]*$/.exec(value)![0];
  let body = value.slice(0, value.length - trailing.length);
  let kept = '';
  if (keepWords > 0) {
    const head = new RegExp(`^(?:\\S+[ \\t]+){${keepWords}}`).exec(body);
    if (!head) return null; // only the address is there: no secret yet
    kept = head[0];
    body = body.slice(kept.length);
  }
  if (body === '' || alreadyRedacted(body)) return null;
  // wpa_supplicant reads a quoted value up to the line's last quote; `}` or `,` may follow it.
  const q = body[0];
  if (q === '"' || q === "'") {
    const close = body.lastIndexOf(q);
    if (close > 0 && /^[\s,;}\])]*$/.test(body.slice(close + 1))) {
      return `${kept}${q}${REDACTED}${q}${body.slice(close + 1)}${trailing}`;
    }
  }
  return `${kept}${REDACTED}${trailing}`;
}

const MAC = '[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}';
// hostapd wpa_psk_file: `[keyid=..] [vlanid=..] [wps=1] MAC PSK`, the PSK being the rest of the line.
const PSK_LINE = new RegExp(`^([ \\t]*#*[ \\t]*((?:(?:keyid|vlanid|wps)=\\S*[ \\t]+)*)${MAC}[ \\t])(.*)$`, 'i');
const HEX_PSK = /^[ \t]*[0-9A-Fa-f]{64}[ \t]*$/;

// hostapd eap_user_file: `"identity" METHODS [password] [[2]]`; the password is quoted, hash: or hex.
const EAP_USER_LINE = /^([ \t]*#*[ \t]*(?:"[^"]*"\*?|\*)[ \t]+([A-Za-z0-9'-]+(?:,[A-Za-z0-9'-]+)*)[ \t]+)("[^"]*"|"[^"]*$|hash:\S+|[^\s[]\S*)/;
const EAP_METHODS = new Set(
  (
    "MD5 TLS TTLS PEAP MSCHAPV2 GTC OTP SIM AKA AKA' PAX PSK SAKE GPSK IKEV2 FAST TNC WSC PWD TEAP EKE " + 'TTLS-PAP TTLS-CHAP TTLS-MSCHAP TTLS-MSCHAPV2 MACACL'
  ).split(' '),
);

// hostapd radius_server_clients: `address[/prefix] shared secret`.
const RADIUS_CLIENT_LINE = /^([ \t]*#*[ \t]*[0-9A-Fa-f.:]*[0-9.:][0-9A-Fa-f.:]*(?:\/\d+)?[ \t]+)(.*)$/;

// `key=value`, `key: value`, `"key": "value"` anywhere on a line.
const KEY_ASSIGN = /(?<![\w.-])(["']?)(-{0,2}[A-Za-z][\w.-]*)\1[ \t]*([=:])[ \t]*/g;
// `key value` only where a config line or a command starts, never inside prose.
const HEAD_KEY_SPACE = /^([ \t]*(?:#[ \t#]*)?(?:[^\s:]+:\d+:[ \t]*)?)(-{0,2}[A-Za-z][\w.-]*)[ \t]+(?=[^\s=:])/;
// wpa_cli / hostapd_cli lines that carry a secret: `set_network 0 psk "..."`, `set wpa_passphrase ...`.
const SET_COMMAND = /(?<![\w-])(?:(?:set_network|set_cred)[ \t]+\d+|set)[ \t]+(["']?)([A-Za-z][\w.-]*)\1[ \t]+/gi;
// Answers to wpa_supplicant's credential requests, typed at wpa_cli or sent on the control socket.
const CREDENTIAL_REPLY =
  /(?<![\w-])(?:(?:password|new_password|passphrase|psk_passphrase|pin|otp)[ \t]+\d+[ \t]+|CTRL-RSP-(?:PASSWORD|NEW_PASSWORD|PASSPHRASE|PSK_PASSPHRASE|PIN|OTP|SIM)-\d+:)/gi;
// Control-socket commands that carry a WPS or P2P PIN among their words, wherever they stand in a
// line: wpa_supplicant and hostapd log each command they get at debug level
// (`Control interface command 'WPS_PIN any 12345670'`) and hide only SET_NETWORK's. All after the word goes.
const PIN_COMMAND = /(?<![\w-])(?:WPS_(?:PIN|REG|AP_PIN|ER_PIN|ER_LEARN|ER_CONFIG|CHECK_PIN)|P2P_CONNECT)[ \t]+/gi;
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/[^\s/?#@:"'<>]*):([^\s/?#"'<>]+)@/gi;
const JSON_STRING = /"(?:[^"\\]|\\.)*"/g;
// wpa_supplicant -K prints key material as hexdumps; without -K it prints [REMOVED].
const HEXDUMP = /hexdump(_ascii)?\(len=\d+\):[ \t]*/i;
const KEY_MATERIAL = /\b(?:psk|pmk|ptk|gtk|igtk|bigtk|kck|kek|tk|msk|emsk|passphrase|password|secret|(?<!-)key)\b/i;
const HEXDUMP_CONTINUATION = /^([ \t]+)[0-9A-Fa-f]{2}(?: [0-9A-Fa-f]{2})*/;
const SET_NETWORK_NAME = /name='([^']*)'/;
const PRIVATE_KEY_BLOCK = /(-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----)((?:\\[nr]|\s)*)([\s\S]*?)((?:\\[nr]|\s)*)(-----END [A-Z0-9 ]*PRIVATE KEY-----)/g;

/** Counts what one call replaced; nested JSON strings add to the same tally. */
interface Tally {
  count: number;
}

function kindOf(fileName: string, text: string): FileKind {
  const base = posix.basename(fileName.replace(/\\/g, '/')).toLowerCase();
  const isConf = /\.(conf|json|txt|log)$/.test(base);
  if (!isConf && base.includes('eap_user')) return 'eap_user';
  if (!isConf && base.includes('radius')) return 'radius_clients';
  if (!isConf && base.includes('sae_password')) return 'sae_passwords';
  if (!isConf && base.includes('psk')) return 'wpa_psk';
  // A psk file under any name: every line that is not a comment is `MAC passphrase`.
  const lines = text.split('\n').filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));
  const isPskLine = (l: string): boolean => {
    const m = PSK_LINE.exec(l.replace(/\r$/, ''));
    return m !== null && m[3]!.trim().length >= 8;
  };
  return lines.length > 0 && lines.every(isPskLine) ? 'wpa_psk' : 'text';
}

/** Replaces line[start, end) when the value there is secret; returns the new line. */
function redactRange(line: string, start: number, end: number, keepWords: number, tally: Tally): string {
  const replacement = redactValue(line.slice(start, end), keepWords);
  if (replacement === null) return line;
  tally.count++;
  return line.slice(0, start) + replacement + line.slice(end);
}

function redactFileKindLine(line: string, kind: FileKind, tally: Tally): string {
  if (kind === 'wpa_psk') {
    const m = PSK_LINE.exec(line);
    if (m) return redactRange(line, m[1]!.length, line.length, 0, tally);
  } else if (kind === 'radius_clients') {
    const m = RADIUS_CLIENT_LINE.exec(line);
    if (m) return redactRange(line, m[1]!.length, line.length, 0, tally);
  } else if (kind === 'sae_passwords') {
    // `password|mac=..|id=..|pk=..`: the password and the SAE-PK private key are secret.
    const lead = /^[ \t]*#*[ \t]*/.exec(line)![0].length;
    const bar = line.indexOf('|', lead);
    let out = redactRange(line, lead, bar < 0 ? line.length : bar, 0, tally);
    const pk = /\|pk=/.exec(out);
    if (pk) {
      const from = pk.index + pk[0].length;
      const to = out.indexOf('|', from);
      out = redactRange(out, from, to < 0 ? out.length : to, 0, tally);
    }
    return out;
  }
  return line;
}

function redactPskAndEapLines(line: string, kind: FileKind, tally: Tally): string {
  // Outside a psk file a `MAC words` line is a lease or a scan result; only hostapd's own
  // prefixes or a 64-hex PSK make it a psk line.
  const psk = PSK_LINE.exec(line);
  if (psk && kind !== 'wpa_psk' && (psk[2] !== '' || HEX_PSK.test(psk[3]!))) {
    line = redactRange(line, psk[1]!.length, line.length, 0, tally);
  }
  const eap = EAP_USER_LINE.exec(line);
  if (eap && (kind === 'eap_user' || eap[2]!.split(',').every((m) => EAP_METHODS.has(m.toUpperCase())))) {
    const start = eap[1]!.length;
    const value = eap[3]!;
    if (!value.includes(REDACTED)) {
      const replacement = value.startsWith('"') ? `"${REDACTED}"` : value.startsWith('hash:') ? `hash:${REDACTED}` : REDACTED;
      tally.count++;
      line = line.slice(0, start) + replacement + line.slice(start + value.length);
    }
  }
  return line;
}

/** JSON strings may hold whole config lines (`"line": "psk=\"...\""`): redact them decoded. */
function redactJsonStrings(line: string, tally: Tally, depth: number): string {
  if (depth > 3 || !line.includes('"')) return line;
  const re = new RegExp(JSON_STRING); // this recurses: each level needs its own lastIndex
  let m: RegExpExecArray | null;
  while ((m = re.exec(line)) !== null) {
    const end = m.index + m[0].length;
    if (/^[ \t]*:/.test(line.slice(end))) continue; // an object key
    let decoded: unknown;
    try {
      decoded = JSON.parse(m[0]);
    } catch {
      continue; // a config's quoted string that is not valid JSON; the line rules see it
    }
    if (typeof decoded !== 'string' || decoded === '') continue;
    const inner = redactText(decoded, 'text', depth + 1);
    if (inner.count === 0) continue;
    tally.count += inner.count;
    const encoded = JSON.stringify(inner.text);
    line = line.slice(0, m.index) + encoded + line.slice(end);
    re.lastIndex = m.index + encoded.length;
  }
  return line;
}

/** The value after KEY_ASSIGN matched: where it ends depends on how the key was written. */
function assignedValueEnd(line: string, keyStart: number, keyQuote: string, valueStart: number): number {
  const first = line[valueStart];
  if (keyQuote !== '') {
    // "key": "value" or 'key': 'value' (JSON, Python): the value is one string or one token.
    if (first === '"' || first === "'") {
      const close = new RegExp(`^${first}(?:\\\\.|[^${first}\\\\])*${first}`).exec(line.slice(valueStart));
      return close ? valueStart + close[0].length : line.length;
    }
    const token = /^[^,}\]\s]*/.exec(line.slice(valueStart))![0];
    return valueStart + token.length;
  }
  // "psk=value" as one quoted word (an argv element, a JSON string): the value ends at that
  // quote, and `\"` inside is part of the value.
  const before = line[keyStart - 1];
  if (before === '"' || before === "'") {
    for (let i = valueStart; i < line.length; i++) {
      if (line[i] === '\\') i++;
      else if (line[i] === before) return i;
    }
  }
  // hostapd and wpa_supplicant take everything up to the end of the line.
  return line.length;
}

function redactAssignments(line: string, tally: Tally): string {
  const re = new RegExp(KEY_ASSIGN);
  let m: RegExpExecArray | null;
  while ((m = re.exec(line)) !== null) {
    const keyQuote = m[1]!;
    const keep = secretKey(m[2]!);
    if (keep === null) continue; // the scan goes on inside the value: `a=1 psk=2` on one line
    const valueStart = m.index + m[0].length;
    const end = assignedValueEnd(line, m.index + keyQuote.length, keyQuote, valueStart);
    const value = line.slice(valueStart, end);
    if (keyQuote !== '' && !/^["']/.test(value)) {
      // A bare JSON token (a number): a quoted placeholder keeps the JSON valid. An array or
      // object is left to the rules for its own items; bundle.ts replaces such values whole.
      if (value === '' || /^(true|false|null|[[{])/.test(value) || alreadyRedacted(value)) continue;
      const replacement = keyQuote === '"' ? `"${REDACTED}"` : REDACTED;
      tally.count++;
      line = line.slice(0, valueStart) + replacement + line.slice(end);
      re.lastIndex = valueStart + replacement.length;
      continue;
    }
    const before = line.length;
    line = redactRange(line, valueStart, end, keep, tally);
    re.lastIndex = end + (line.length - before);
  }
  return line;
}

/** Redacts the rest of the line after the first match whose group 2 (when asked) names a secret. */
function redactAfter(line: string, pattern: RegExp, tally: Tally, needsSecretKey: boolean): string {
  const re = new RegExp(pattern);
  let m: RegExpExecArray | null;
  while ((m = re.exec(line)) !== null) {
    const keep = needsSecretKey ? secretKey(m[2]!) : 0;
    if (keep !== null) return redactRange(line, m.index + m[0].length, line.length, keep, tally);
  }
  return line;
}

function redactLine(line: string, kind: FileKind, tally: Tally, depth: number): string {
  line = redactFileKindLine(line, kind, tally);
  line = redactPskAndEapLines(line, kind, tally);
  line = redactJsonStrings(line, tally, depth);
  const head = HEAD_KEY_SPACE.exec(line);
  if (head) {
    const keep = secretKey(head[2]!);
    if (keep !== null) line = redactRange(line, head[0].length, line.length, keep, tally);
  }
  line = redactAfter(line, SET_COMMAND, tally, true);
  line = redactAfter(line, CREDENTIAL_REPLY, tally, false);
  line = redactAfter(line, PIN_COMMAND, tally, false);
  line = redactAssignments(line, tally);
  line = line.replace(URL_USERINFO, (all, prefix: string, password: string) => {
    if (password.startsWith(REDACTED)) return all;
    tally.count++;
    return `${prefix}:${REDACTED}@`;
  });
  return line;
}

function redactText(text: string, kind: FileKind, depth: number): { text: string; count: number } {
  const tally: Tally = { count: 0 };
  text = text.replace(PRIVATE_KEY_BLOCK, (all, begin: string, lead: string, body: string, tail: string, end: string) => {
    if (body.trim() === '' || body.trim() === REDACTED) return all;
    tally.count++;
    return `${begin}${lead}${REDACTED}${tail}${end}`;
  });
  const lines = text.split('\n');
  // A -K hexdump_ascii prints its bytes on the lines after the header.
  let secretDumpNext = false;
  let inSecretDump = false;
  for (let i = 0; i < lines.length; i++) {
    const cr = lines[i]!.endsWith('\r') ? '\r' : '';
    let line = cr ? lines[i]!.slice(0, -1) : lines[i]!;
    const cont = inSecretDump ? HEXDUMP_CONTINUATION.exec(line) : null;
    if (cont) {
      if (!line.slice(cont[1]!.length).startsWith(REDACTED)) {
        tally.count++;
        line = cont[1]! + REDACTED;
      }
    } else {
      inSecretDump = false;
      const dump = HEXDUMP.exec(line);
      if (dump && (secretDumpNext || KEY_MATERIAL.test(line.slice(0, dump.index)))) {
        const start = dump.index + dump[0].length;
        if (!/^\[(REMOVED|NULL)\]/.test(line.slice(start))) line = redactRange(line, start, line.length, 0, tally);
        inSecretDump = dump[1] !== undefined;
      }
      const named = SET_NETWORK_NAME.exec(line);
      secretDumpNext = named !== null && secretKey(named[1]!) !== null;
      line = redactLine(line, kind, tally, depth);
    }
    lines[i] = line + cr;
  }
  return { text: lines.join('\n'), count: tally.count };
}

/**
 * Replaces every secret value in `text` with REDACTED and says how many it replaced.
 * `fileName` picks hostapd's one-secret-per-line formats (wpa_psk_file, eap_user_file,
 * radius_server_clients, sae_password_file); any other name gets the general rules.
 */
export function redactSecrets(text: string, fileName: string): { text: string; count: number } {
  return redactText(text, kindOf(fileName, text), 0);
}
