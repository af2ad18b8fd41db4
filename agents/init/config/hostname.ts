// hostname: the guest's host name, one line. Pure: text in, name and problems out.
import { collector, shorten, type ConfigProblem } from '../../common/problems';
import { splitLines } from './lines';

// sethostname(2) refuses more than HOST_NAME_MAX bytes, well below the 253 of a DNS name.
const KERNEL_MAX = 64;

/** Why `name` is not an RFC 1123 host name (labels of letters, digits and inner hyphens, dot-separated), or null if it is one. */
export function hostnameFault(name: string): string | null {
  if (name.length > 253) return `is ${name.length} characters long; expected at most 253`;
  const labels = name.split('.');
  for (const label of labels) {
    if (label === '') return 'has an empty label (a leading, trailing or doubled dot); expected labels separated by single dots';
    if (label.length > 63) return `has a label of ${label.length} characters; expected at most 63 per label`;
    const other = /[^A-Za-z0-9-]/u.exec(label);
    if (other !== null) return `has '${shorten(other[0])}' in '${shorten(label)}'; expected only letters, digits, '-' and '.'`;
    if (label.startsWith('-') || label.endsWith('-'))
      return `has a label that starts or ends with '-' ('${shorten(label)}'); expected a letter or digit at both ends of each label`;
  }
  return null;
}

export function parseHostname(text: string, file: string): { hostname: string | null; problems: ConfigProblem[] } {
  const { problems, report } = collector(file);
  const lines = splitLines(text);
  let hostname: string | null = null;
  let found = 0;
  for (let i = 0; i < lines.length; i++) {
    const value = (lines[i] as string).trim();
    if (value === '' || value.startsWith('#')) continue;
    if (found !== 0) {
      report(i + 1, 'warning', `found '${shorten(value)}' after the host name on line ${found}; expected a single line (ignored)`);
      continue;
    }
    found = i + 1;
    const fault = hostnameFault(value);
    if (fault !== null) {
      report(found, 'error', `host name '${shorten(value)}' ${fault}`);
    } else if (value.length > KERNEL_MAX) {
      report(found, 'error', `host name '${shorten(value)}' is ${value.length} characters long; expected at most ${KERNEL_MAX}, the kernel's limit`);
    } else {
      hostname = value;
    }
  }
  if (found === 0) report(1, 'warning', 'no host name found; expected one line such as wifibox (the host name is left as it is)');
  return { hostname, problems };
}
