// Packets a DNS relay must drop and count, never answer: random bytes, a query cut off, one far
// larger than a query, and a query whose name starts with a compression pointer. Plain CommonJS,
// as test/helpers/dns-load.cjs runs in the lab's host namespace outside vitest; the unit tests
// import it too.
'use strict';

/** @typedef {'random' | 'cut' | 'oversized' | 'pointer'} MalformedKind */

/**
 * A malformed packet of `kind`, made from a good query with numbers from `rand` (0 to 1).
 * @param {MalformedKind} kind
 * @param {Buffer} good
 * @param {() => number} rand
 * @returns {Buffer}
 */
function malformedPacket(kind, good, rand) {
  switch (kind) {
    case 'random':
      return Buffer.from(Array.from({ length: Math.floor(rand() * 60) }, () => Math.floor(rand() * 256)));
    case 'cut':
      return good.subarray(0, Math.floor(rand() * (good.length - 1)));
    case 'oversized':
      return Buffer.alloc(5000, 0x41);
    case 'pointer':
      return Buffer.from(good).fill(0xc0, 12, 13);
  }
}

module.exports = { malformedPacket };
