/**
 * Shared memory between the engine and the pool's threads: per running task, a cancel flag the
 * engine raises and a stage the worker writes. Slots are recycled when tasks leave the pool.
 */
export class TaskSlots {
  readonly cancelFlagsBuffer: SharedArrayBuffer;
  readonly taskStagesBuffer: SharedArrayBuffer;
  private readonly cancelFlags: Int32Array;
  private readonly stages: Int32Array;
  private readonly free: number[];

  constructor(readonly size: number) {
    this.cancelFlagsBuffer = new SharedArrayBuffer(size * 4);
    this.taskStagesBuffer = new SharedArrayBuffer(size * 4);
    this.cancelFlags = new Int32Array(this.cancelFlagsBuffer);
    this.stages = new Int32Array(this.taskStagesBuffer);
    this.free = Array.from({ length: size }, (_, i) => size - 1 - i);
  }

  get available(): number {
    return this.free.length;
  }

  acquire(): number {
    const slot = this.free.pop();
    if (slot === undefined) throw new Error('no free task slot');
    Atomics.store(this.cancelFlags, slot, 0);
    Atomics.store(this.stages, slot, 0);
    return slot;
  }

  release(slot: number): void {
    this.free.push(slot);
  }

  raiseCancel(slot: number): void {
    Atomics.store(this.cancelFlags, slot, 1);
  }

  stage(slot: number): number {
    return Atomics.load(this.stages, slot);
  }
}
