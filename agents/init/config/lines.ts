// Shared by the guest config parsers: line splitting, words, and quoting input in messages.

/** Lines without their terminators; a CR before LF is dropped, as files edited on another system may have them. */
export function splitLines(text: string): string[] {
  return text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

/** Whitespace-separated words, as ifupdown-ng and busybox read them. */
export function words(s: string): string[] {
  return s.split(/[ \t\r\f\v]+/).filter((w) => w !== '');
}

/** Keeps quoted input readable in a message, whatever the fuzzer or a user put in it. */
export function shorten(s: string, max = 40): string {
  const printable = s.replace(/[\x00-\x1f\x7f]/g, '?');
  return printable.length > max ? `${printable.slice(0, max)}…` : printable;
}
