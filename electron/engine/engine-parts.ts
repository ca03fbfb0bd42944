import type { EventEmitter } from 'node:events';
import type { HostNotice } from '../../contract/api.js';
import { Admission } from './admission.js';
import { CrashLedger } from './crash-ledger.js';
import type { EngineEvents } from './engine-events.js';
import { DEFAULTS, defaultPool, type EngineOptions } from './engine-options.js';
import type { Executor, ExecutorListener } from './executor.js';
import { JobRegistry } from './job-registry.js';
import type { JobStore } from './job-store.js';
import { TaskLifeCycle } from './life-cycle.js';
import { LoopExecutor } from './loop-executor.js';
import { Scheduler, type Executors } from './scheduler.js';
import { StoreWriter } from './store-writer.js';
import { machinesOf, Telemetry } from './telemetry.js';

/** The working parts of an engine, wired to each other. */
export interface EngineParts {
  writer: StoreWriter;
  ledger: CrashLedger;
  registry: JobRegistry;
  scheduler: Scheduler;
  lifeCycle: TaskLifeCycle;
  admission: Admission;
  executors: Executors;
  telemetry: Telemetry;
  /** Conditions people should see until they clear: the host's own, a store that cannot be written, and the executors' own. */
  notices: () => HostNotice[];
}

export interface EngineHooks {
  /** Where the engine's events go (the engine itself). */
  events: EventEmitter<EngineEvents>;
  /** True once the engine shuts down. */
  closing: () => boolean;
  /** Throws when the engine is shutting down. */
  assertOpen: () => void;
}

/** Builds the parts over an open store; the executors are built last, as they report to the life cycle. */
export function assembleParts(store: JobStore, options: EngineOptions, hooks: EngineHooks): EngineParts {
  const { events } = hooks;
  const poolFactory = options.executors?.pool ?? defaultPool(options);
  const storeFlushMs = options.storeFlushMs ?? DEFAULTS.storeFlushMs;
  // While the store cannot be written (a full disk), no task starts: it could not record what runs.
  let storeNotice: HostNotice | null = null;
  const hostNotices = options.notices ?? [];
  // The executors' own (remote workers refused), once they are built.
  let executorNotices = (): HostNotice[] => [];
  const notices = () => [...hostNotices.map((notice) => ({ ...notice })), ...(storeNotice ? [{ ...storeNotice }] : []), ...executorNotices()];
  const onStoreHealth = (notice: HostNotice | null) => {
    storeNotice = notice;
    scheduler.hold(notice !== null);
    events.emit('notices', notices());
  };
  const writer = new StoreWriter(store, storeFlushMs, {
    failed: (error) => onStoreHealth({ code: error.code === 'DISK_FULL' ? 'DISK_FULL' : 'STORE_WRITE_FAILED', message: error.message, since: Date.now() }),
    recovered: () => onStoreHealth(null),
  });
  const ledger = new CrashLedger(store.db, storeFlushMs);
  const registry = new JobRegistry(store, writer, options.keepFinishedTasks ?? DEFAULTS.keepFinishedTasks);
  // What ended before a suspect runs alone is stored first: if it kills the process, the crash is
  // charged to it alone, and nothing that ended before it runs again.
  const scheduler = new Scheduler(() => {
    ledger.unmarkEnded();
    writer.flush();
  });
  const cancelGraceMs = options.cancelGraceMs ?? DEFAULTS.cancelGraceMs;
  const lifeCycle = new TaskLifeCycle({ writer, events, scheduler, registry, ledger, cancelGraceMs, closing: hooks.closing });
  const listener = lifeCycle.listener((line) => {
    registry.appendLog(line);
    events.emit('log', line);
  });
  const loopConcurrency = options.loopConcurrency ?? DEFAULTS.loopConcurrency;
  const loopFactory = options.executors?.loop ?? ((l: ExecutorListener) => new LoopExecutor(loopConcurrency, l));
  const toExecutors: ExecutorListener = { ...listener, noticesChanged: () => events.emit('notices', notices()) };
  const executors = { pool: poolFactory(toExecutors), loop: loopFactory(toExecutors) };
  executorNotices = () => Object.values<Executor>(executors).flatMap((executor) => executor.notices?.() ?? []);
  scheduler.attach(executors);
  const crashBudget = options.crashBudget ?? DEFAULTS.crashBudget;
  const admission = new Admission({ store, writer, events, registry, lifeCycle, scheduler, ledger, crashBudget, assertOpen: hooks.assertOpen });
  const { counts } = lifeCycle;
  const telemetry = new Telemetry(
    {
      workers: () => executors.pool.workerStats?.() ?? [],
      machines: () => machinesOf(Object.values(executors)),
      queued: () => counts.queued,
      running: () => counts.running + counts.cancelling,
      takeCompletions: () => lifeCycle.takeCompletions(),
    },
    options.telemetryIntervalMs ?? DEFAULTS.telemetryIntervalMs,
    options.telemetryHistory ?? DEFAULTS.telemetryHistory,
    (sample) => {
      // Samples taken while work ran are kept in the store too, for traces of past jobs.
      if (sample.running > 0 || sample.queued > 0 || sample.completionsPerSecond > 0) writer.telemetry(sample);
      events.emit('telemetry', sample);
    },
  );
  return { writer, ledger, registry, scheduler, lifeCycle, admission, executors, telemetry, notices };
}
