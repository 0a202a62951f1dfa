// The process logger. Lines carry ids, names, sizes, timings and statuses; the redaction list is
// a second line of defence for fields that must never appear even if someone logs them by mistake.
import pino, { type DestinationStream, type Logger } from 'pino'

export function createLogger (level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'toolgate' },
    redact: {
      paths: ['authorization', '*.authorization', 'headers', '*.headers', 'arguments', '*.arguments', 'body', '*.body', 'password', '*.password', 'token', '*.token'],
      censor: '[redacted]'
    }
  }
  return destination ? pino(options, destination) : pino(options)
}
