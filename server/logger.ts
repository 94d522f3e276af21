import pino, { type Logger } from 'pino';

/** JSON lines on stdout; one line per connection at debug, never per message at info. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'scriptorium' } });
}
