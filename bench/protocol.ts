// What the bench's parts say to each other: the orchestrator (root namespace) sends a
// ClientOp to a client running in the host namespace, and LauncherRequests to the launcher
// running in the guest; each answers with one JSON line.

/** Latency ops measure the targets in alternating blocks, so noise hits both alike. */
export type ClientOp =
  | { op: 'fresh'; host: string; ports: number[]; n: number; block: number; timeoutMs: number }
  | { op: 'open'; host: string; ports: number[]; n: number; block: number; timeoutMs: number }
  | { op: 'chain'; sockets: string[]; bindDir: string; n: number; block: number; timeoutMs: number }
  | { op: 'concurrent'; socket: string; bindDir: string; clients: number; n: number; timeoutMs: number }
  | { op: 'hold'; host: string; port: number; n: number };

export interface TargetLatency {
  /** Milliseconds per answered request, in the order measured. */
  times: number[];
  /** No right answer within the timeout. */
  lost: number;
  /** Answered with something else than the expected reply. */
  wrong: number;
  /** Connection errors (refused, reset, closed before the reply). */
  errors: number;
  firstError: string | null;
  /** Requests made before the client stopped trying this target (open: 5 losses in a row). */
  gaveUpAfter: number | null;
}

export interface LatencyResult {
  targets: TargetLatency[];
}

export interface ConcurrentResult {
  clients: number;
  sent: number;
  ok: number;
  wrong: number;
  lost: number;
  /** Datagrams that arrived while their client had no request pending. */
  stray: number;
  /** Sends that found the host socat's socket queue full (EAGAIN) and waited, as a blocking send would. */
  sendWaits: number;
  /** Sends that failed outright (counted as lost too). */
  sendErrors: number;
  firstSendError: string | null;
  elapsedMs: number;
  sampleWrong: string[];
}

/** `hold` prints this once every connection is open, then waits for its stdin to close. */
export interface HoldReady {
  holding: number;
  failed: number;
}

export interface LauncherStart {
  op: 'start';
  argv: string[];
  /** Guest address and port the process is expected to listen on. */
  host: string;
  port: number;
  timeoutMs: number;
  /** How often to try connecting (default 1 ms). */
  probeEveryMs?: number;
}

interface LauncherStop {
  op: 'stop';
  pid: number;
}

/** A program the launcher runs to its exit, in a job. */
export interface Step {
  argv: string[];
  /** Keep stdout in the reply (the --json runs are parsed). */
  keepStdout?: boolean;
  /** Run under /usr/bin/time -f %M for the peak RSS (those runs are not timed). */
  rss?: boolean;
}

export interface StepResult {
  code: number | null;
  signal: string | null;
  /** spawn() to the child's exit, ms. */
  ms: number;
  stdoutBytes: number;
  stdout: string | null;
  stderrTail: string;
  rssKiB: number | null;
  error: string | null;
}

/** The steps one after another, each once the previous has exited and its output has ended. */
interface LauncherJob {
  op: 'job';
  steps: Step[];
}

export type LauncherRequest = LauncherStart | LauncherStop | LauncherJob;

type StartReply = { ok: true; pid: number; ms: number; probes: number };
type StopReply = { ok: true; pid: number; exit: number | null };
export type JobReply = { ok: true; steps: StepResult[]; totalMs: number };
type LauncherFailure = { ok: false; error: string };

export type LauncherReply = StartReply | StopReply | JobReply | LauncherFailure;

/** The reply a request gets. */
export type ReplyTo<R extends LauncherRequest> = (R extends LauncherStart ? StartReply : R extends LauncherStop ? StopReply : JobReply) | LauncherFailure;

export const PING = 'PING';
export const PONG = 'PONG\n';
