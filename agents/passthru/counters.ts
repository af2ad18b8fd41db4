// Per-port counters, as the status endpoint reports them (documented in README).
export interface PortCounters {
  connections: number; // TCP connections accepted and bridged
  requests: number; // datagrams sent to the daemon
  replies: number; // datagrams from the daemon that answer a request
  events: number; // unsolicited messages ("<N>...") to attached monitors
  emptyReplies: number; // zero-length replies, sent to the host as "\n"
  bytesIn: number; // from the host
  bytesOut: number; // to the host
  refusedPeer: number; // connections from outside `network`
  refusedLimit: number; // connections over the per-port limit
  oversized: number; // requests larger than the daemon takes, refused
  dropped: number; // datagrams dropped because the host did not read fast enough
  errors: number; // daemon unreachable, bind failures, and the like
}

export function newCounters(): PortCounters {
  return {
    connections: 0, requests: 0, replies: 0, events: 0, emptyReplies: 0, bytesIn: 0, bytesOut: 0,
    refusedPeer: 0, refusedLimit: 0, oversized: 0, dropped: 0, errors: 0,
  };
}
