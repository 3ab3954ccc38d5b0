// A completion that resolves synchronously inside a kernel event. Sim ports return these; the
// runtime treats them like promises (anything with `then`), but unlike a Promise the callback
// runs at once, inside the event, so simulated time cannot slip past it.
export class SimFuture<T> implements PromiseLike<T> {
  private state: 'pending' | 'ok' | 'err' = 'pending';
  private value: unknown;
  private okCbs: Array<(v: T) => unknown> = [];
  private errCbs: Array<(e: unknown) => unknown> = [];

  static resolved<T>(v: T): SimFuture<T> {
    const f = new SimFuture<T>();
    f.resolve(v);
    return f;
  }

  static rejected<T>(e: unknown): SimFuture<T> {
    const f = new SimFuture<T>();
    f.reject(e);
    return f;
  }

  resolve(v: T): void {
    if (this.state !== 'pending') return;
    this.state = 'ok';
    this.value = v;
    const cbs = this.okCbs;
    this.okCbs = [];
    this.errCbs = [];
    for (const cb of cbs) cb(v);
  }

  reject(e: unknown): void {
    if (this.state !== 'pending') return;
    this.state = 'err';
    this.value = e;
    const cbs = this.errCbs;
    this.okCbs = [];
    this.errCbs = [];
    for (const cb of cbs) cb(e);
  }

  get settled(): boolean {
    return this.state !== 'pending';
  }

  then<R1 = T, R2 = never>(onOk?: ((v: T) => R1 | PromiseLike<R1>) | null, onErr?: ((e: unknown) => R2 | PromiseLike<R2>) | null): PromiseLike<R1 | R2> {
    if (this.state === 'ok') onOk?.(this.value as T);
    else if (this.state === 'err') onErr?.(this.value);
    else {
      if (onOk) this.okCbs.push(onOk);
      if (onErr) this.errCbs.push(onErr);
    }
    // Chaining is not needed by the runtime; return this to satisfy the interface.
    return this as unknown as PromiseLike<R1 | R2>;
  }
}
