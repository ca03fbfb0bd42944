import type { HostNotice } from '../../contract/api.js';
import type { RemoteMachine, WorkerSample } from '../../contract/telemetry.js';
import type { Executor, ExecutorListener, ReadySource } from '../engine/executor.js';
import type { Task } from '../engine/task.js';

export type ExecutorMaker = (listener: ExecutorListener) => Executor;

/**
 * Several places for sync kinds seen by the engine as one executor: each is filled in turn
 * from the same ready queue, so the engine's order (priorities, per-job caps, dependencies)
 * holds across them, and a task goes wherever there is room first. Stop requests go to the
 * place that holds the task.
 */
export class SyncExecutors implements Executor {
  private readonly places: Executor[];
  private readonly holder = new Map<Task, Executor>();

  /** `makers` in the order they are offered tasks. */
  constructor(listener: ExecutorListener, makers: readonly ExecutorMaker[]) {
    if (makers.length === 0) throw new Error('SyncExecutors needs at least one place to run tasks');
    this.places = makers.map((make) => {
      const place: Executor = make({
        ...listener,
        finished: (task, outcome) => {
          if (this.holder.get(task) === place) this.holder.delete(task);
          listener.finished(task, outcome);
        },
      });
      return place;
    });
  }

  fill(next: ReadySource): void {
    for (const place of this.places) {
      place.fill((request) => {
        const task = next(request);
        if (task) this.holder.set(task, place);
        return task;
      });
    }
  }

  withdraw(task: Task): boolean {
    const withdrawn = this.holder.get(task)?.withdraw(task) ?? false;
    if (withdrawn) this.holder.delete(task);
    return withdrawn;
  }

  requestStop(task: Task): void {
    this.holder.get(task)?.requestStop(task);
  }

  terminate(task: Task): void {
    this.holder.get(task)?.terminate(task);
  }

  async close(): Promise<void> {
    await Promise.all(this.places.map((place) => place.close()));
  }

  workerStats(): WorkerSample[] {
    return this.places.flatMap((place) => place.workerStats?.() ?? []);
  }

  /** The remote machines of the places that have any. */
  machines(): RemoteMachine[] {
    return this.places.flatMap((place) => (hasMachines(place) ? place.machines() : []));
  }

  /** The notices of the places that have any. */
  notices(): HostNotice[] {
    return this.places.flatMap((place) => place.notices?.() ?? []);
  }
}

function hasMachines(place: Executor): place is Executor & { machines(): RemoteMachine[] } {
  return typeof (place as { machines?: unknown }).machines === 'function';
}
