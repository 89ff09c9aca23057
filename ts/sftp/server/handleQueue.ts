/**
 * Ordering of the operations on one open handle. Reads may overlap other
 * reads and writes other writes (clients pipeline them at distinct offsets;
 * that is where SFTP's speed comes from); anything else on the handle
 * (close, fstat, fsetstat, fsync, readdir) runs alone, after what came before
 * it, so a CLOSE never overtakes the WRITEs the client sent ahead of it.
 */
export type HandleOpKind = 'read' | 'write' | 'other';

interface Waiting {
  kind: HandleOpKind;
  start: () => void;
}

export class HandleQueue {
  #kind: HandleOpKind | null = null;
  #running = 0;
  #waiting: Waiting[] = [];
  #head = 0;

  /** Operations running or waiting. */
  get size(): number {
    return this.#running + this.#waiting.length - this.#head;
  }

  run<T>(kind: HandleOpKind, fn: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = (): void => {
        this.#running++;
        this.#kind = kind;
        let p: Promise<T>;
        try {
          p = fn();
        } catch (err) {
          p = Promise.reject(err);
        }
        p.then(
          (v) => {
            resolve(v);
            this.#done();
          },
          (err: unknown) => {
            reject(err);
            this.#done();
          },
        );
      };
      if (this.#head === this.#waiting.length && this.#joins(kind)) start();
      else this.#waiting.push({ kind, start });
    });
  }

  #done(): void {
    this.#running--;
    this.#next();
  }

  #joins(kind: HandleOpKind): boolean {
    return this.#running === 0 || (kind !== 'other' && kind === this.#kind);
  }

  #next(): void {
    while (this.#head < this.#waiting.length) {
      const w = this.#waiting[this.#head]!;
      if (!this.#joins(w.kind)) return;
      this.#head++;
      w.start();
      if (w.kind === 'other') break;
    }
    if (this.#head === this.#waiting.length) {
      this.#waiting = [];
      this.#head = 0;
    }
  }
}
