/**
 * Append-only typed arrays that double their capacity, so that ingestion of millions of postings
 * never creates per-posting objects. `view()` returns the filled prefix without copying;
 * `toTrimmed()` copies into an exactly-sized array for long-term storage.
 */

type TypedArrayConstructor<T> = { new (length: number): T; BYTES_PER_ELEMENT: number };
type NumericArray = Uint8Array | Uint16Array | Uint32Array | Float32Array | Float64Array;

class Growable<T extends NumericArray> {
  private data: T;
  length = 0;

  constructor(private readonly ctor: TypedArrayConstructor<T>, initialCapacity = 1024) {
    this.data = new ctor(Math.max(16, initialCapacity));
  }

  push(value: number): void {
    if (this.length === this.data.length) this.grow(this.length + 1);
    this.data[this.length++] = value;
  }

  /** Makes room for `extra` more elements; returns the backing array (valid until the next growth). */
  reserve(extra: number): T {
    if (this.length + extra > this.data.length) this.grow(this.length + extra);
    return this.data;
  }

  /** Empties the array, keeping its capacity (scratch reused across calls). */
  clear(): void {
    this.length = 0;
  }

  view(): T {
    return this.data.subarray(0, this.length) as T;
  }

  toTrimmed(): T {
    const out = new this.ctor(this.length);
    out.set(this.data.subarray(0, this.length) as never);
    return out;
  }

  private grow(minimum: number): void {
    let capacity = this.data.length * 2;
    while (capacity < minimum) capacity *= 2;
    const next = new this.ctor(capacity);
    next.set(this.data as never);
    this.data = next;
  }
}

export class GrowableUint32Array extends Growable<Uint32Array> {
  constructor(initialCapacity?: number) {
    super(Uint32Array, initialCapacity);
  }
}

export class GrowableUint8Array extends Growable<Uint8Array> {
  constructor(initialCapacity?: number) {
    super(Uint8Array, initialCapacity);
  }
}

export class GrowableFloat32Array extends Growable<Float32Array> {
  constructor(initialCapacity?: number) {
    super(Float32Array, initialCapacity);
  }
}
