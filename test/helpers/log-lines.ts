// What an agent logs, kept as lines: a stream to hand to pino (or createLogger), and a logger on it.
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';

export function logLines(): { out: string[]; stream: Writable } {
  const out: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      out.push(
        ...chunk
          .toString()
          .split('\n')
          .filter((l) => l !== ''),
      );
      done();
    },
  });
  return { out, stream };
}

/** A logger at debug, every record kept as its JSON line. */
export function capturingLogger(): { log: Logger; out: string[] } {
  const { out, stream } = logLines();
  return { log: pino({ level: 'debug' }, stream), out };
}
