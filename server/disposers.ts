import type { Logger } from 'pino';

/**
 * Closes one part of the server. `deadline` (performance.now() clock) is when the whole
 * shutdown must be done: a part that waits on I/O bounds its wait by it.
 */
export type Dispose = (deadline: number) => void | Promise<unknown>;

/**
 * What the server opened, closed in reverse order of construction. Each part registers its
 * close right after it is constructed, so what was built later — and may use what came
 * before — is closed first, and a start that fails halfway closes exactly what it opened,
 * by the same path as a shutdown. Bounded by the server's parts (registered once each).
 */
export class DisposerStack {
  private readonly parts: Array<{ readonly name: string; readonly dispose: Dispose }> = [];

  constructor(private readonly logger: Logger) {}

  /** Registers the close of a part just constructed. */
  add(name: string, dispose: Dispose): void {
    this.parts.push({ name, dispose });
  }

  /**
   * Closes every part registered so far, newest first, each once. A close that throws or
   * rejects is logged and the next one runs. A synchronous close is not awaited, so a run of
   * them happens within one turn, as they would in straight-line code.
   */
  async disposeAll(deadline: number): Promise<void> {
    for (let part = this.parts.pop(); part !== undefined; part = this.parts.pop()) {
      try {
        const closing = part.dispose(deadline);
        if (closing !== undefined) await closing;
      } catch (error) {
        this.logger.error({ err: error, part: part.name }, 'closing a part of the server failed');
      }
    }
  }
}
