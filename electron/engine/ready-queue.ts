import type { Task } from './task.js';

/** Higher priority first; among equals, the task admitted first. */
function before(a: Task, b: Task): boolean {
  return a.priority !== b.priority ? a.priority > b.priority : a.seq < b.seq;
}

/** A binary heap of tasks that are ready to run on one executor. */
export class ReadyQueue {
  private readonly heap: Task[] = [];

  get size(): number {
    return this.heap.length;
  }

  push(task: Task): void {
    const heap = this.heap;
    heap.push(task);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      swap(heap, i, parent);
      i = parent;
    }
  }

  peek(): Task | undefined {
    return this.heap[0];
  }

  pop(): Task | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let best = i;
        if (left < heap.length && before(heap[left]!, heap[best]!)) best = left;
        if (right < heap.length && before(heap[right]!, heap[best]!)) best = right;
        if (best === i) break;
        swap(heap, i, best);
        i = best;
      }
    }
    return top;
  }
}

/** Swaps two places of the heap (a destructuring swap makes an array each time until the code is optimised). */
function swap(heap: Task[], a: number, b: number): void {
  const t = heap[a]!;
  heap[a] = heap[b]!;
  heap[b] = t;
}
