/** Stream assembly: stop strings over streamed pieces, and a push → AsyncIterable queue. */

/**
 * Applies OpenAI `stop` strings to text that arrives in pieces.
 *
 * Text that could be the start of a stop string is held back until the next piece decides it, so
 * nothing past a stop string is ever emitted, even when the stop string is split across pieces
 * (`"<|e"` + `"nd|>"`). On a match, the text before the stop string is emitted and `stopped` turns
 * true; the stop string itself is not part of the output (OpenAI's behaviour).
 *
 * Pieces from the Rust side never split a UTF-8 character, and a stop string's proper prefix can't
 * end between a surrogate pair's halves at its start, so the emitted text is always well formed.
 */
export class StopMatcher {
  private held = '';
  private done = false;
  private readonly stops: string[];

  constructor(stops: readonly string[]) {
    this.stops = stops.filter((s) => s.length > 0);
  }

  get stopped(): boolean {
    return this.done;
  }

  /** Feeds one piece; returns the text that is now safe to emit (possibly ''). */
  push(piece: string): string {
    if (this.done) return '';
    if (this.stops.length === 0) return piece;
    const text = this.held + piece;
    // The earliest stop string wins; the same position with two candidates: the longer one is
    // irrelevant because everything from that position on is dropped.
    let cut = -1;
    for (const stop of this.stops) {
      const at = text.indexOf(stop);
      if (at !== -1 && (cut === -1 || at < cut)) cut = at;
    }
    if (cut !== -1) {
      this.done = true;
      this.held = '';
      return text.slice(0, cut);
    }
    const keep = this.heldBackLength(text);
    this.held = text.slice(text.length - keep);
    return text.slice(0, text.length - keep);
  }

  /** End of generation: whatever was held back was not a stop string after all. */
  flush(): string {
    const rest = this.done ? '' : this.held;
    this.held = '';
    return rest;
  }

  /** Length of the longest suffix of `text` that is a proper prefix of some stop string. */
  private heldBackLength(text: string): number {
    let best = 0;
    for (const stop of this.stops) {
      const max = Math.min(stop.length - 1, text.length);
      for (let len = max; len > best; len--) {
        if (text.endsWith(stop.slice(0, len))) {
          best = len;
          break;
        }
      }
    }
    return best;
  }
}

/**
 * A single-consumer queue turning pushed values into an AsyncIterable. `end()` finishes the
 * iteration after the queued values; `fail(err)` makes the next read throw. `onReturn` runs when the
 * consumer stops early (break out of for-await), so the producer can cancel its work.
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private readonly values: T[] = [];
  private waiting: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | null =
    null;
  private ended = false;
  private error: { value: unknown } | null = null;
  private iterated = false;

  constructor(private readonly onReturn?: () => void) {}

  push(value: T): void {
    if (this.ended) return;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w.resolve({ value, done: false });
    } else {
      this.values.push(value);
    }
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.waiting && this.values.length === 0) {
      const w = this.waiting;
      this.waiting = null;
      w.resolve({ value: undefined, done: true });
    }
  }

  fail(err: unknown): void {
    if (this.ended) return;
    this.error = { value: err };
    this.ended = true;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w.reject(err);
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.iterated) throw new Error('this stream can be iterated only once');
    this.iterated = true;
    return {
      next: (): Promise<IteratorResult<T>> => {
        if (this.values.length > 0) return Promise.resolve({ value: this.values.shift()!, done: false });
        if (this.error) {
          const e = this.error.value;
          this.error = null;
          return Promise.reject(e);
        }
        if (this.ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => {
          this.waiting = { resolve, reject };
        });
      },
      return: (): Promise<IteratorResult<T>> => {
        const wasEnded = this.ended;
        this.ended = true;
        this.values.length = 0;
        if (!wasEnded) this.onReturn?.();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
