/**
 * Runs async steps one at a time, in the order they were handed in: each
 * starts once the one before it has settled, whatever its outcome. For
 * requests whose effects must apply in arrival order even when deciding
 * them takes a promise (a session's env before its exec, a
 * cancel-tcpip-forward behind its tcpip-forward, SFTP path operations).
 */
export class InOrder {
  #tail: Promise<unknown> = Promise.resolve();

  /** `step`'s outcome, once every step handed in before it has settled. */
  run<T>(step: () => T | Promise<T>): Promise<T> {
    const result = this.#tail.then(step);
    this.#tail = result.catch(() => {});
    return result;
  }
}
