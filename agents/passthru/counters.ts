// Every port's counters start at zero (their meaning: PortCounters in common/status.ts).
import type { PortCounters } from '../common/status';

export function newCounters(): PortCounters {
  return {
    connections: 0,
    requests: 0,
    replies: 0,
    events: 0,
    emptyReplies: 0,
    bytesIn: 0,
    bytesOut: 0,
    refusedPeer: 0,
    refusedLimit: 0,
    oversized: 0,
    dropped: 0,
    errors: 0,
  };
}
