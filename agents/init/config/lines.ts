// Shared by the guest config parsers: line splitting and words (input quoted in messages: common/problems.ts shorten).

/** Lines without their terminators; a CR before LF is dropped, as files edited on another system may have them. */
export function splitLines(text: string): string[] {
  return text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

/** Whitespace-separated words, as ifupdown-ng and busybox read them. */
export function words(s: string): string[] {
  return s.split(/[ \t\r\f\v]+/).filter((w) => w !== '');
}
