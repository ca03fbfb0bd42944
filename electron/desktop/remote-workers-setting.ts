/**
 * The desktop app's remote workers: a Redis URL whose `threadline worker`s add threads to the
 * local ones (as `--redis` does for `run` and `serve`), and whether the app keeps local threads
 * at all (`--workers 0` when off). Read when the engine starts, and only then: the engine's
 * executors are built once, so a change takes effect at the next start of the app.
 *
 * The URL is kept in settings.json as typed, password included, as the metrics token is (the
 * file is readable by its owner only); everything shown or logged has the password as `***`.
 */
import { z } from 'zod';
import { ApiCallError, type HostNotice } from '../../contract/api.js';
import type { RemoteWorkersChoice, RemoteWorkersStatus } from '../../contract/desktop-api.js';
import { CliError } from '../cli/cli-error.js';
import type { EngineOptions } from '../engine/engine-options.js';
import { parseRedisUrl, type RedisTarget } from '../remote/redis-url.js';
import { RemoteExecutor } from '../remote/remote-executor.js';
import { withRemoteWorkers } from '../remote/remote-workers-option.js';
import { readSettingsFile, writeSettingsSection } from './settings-file.js';

const SECTION = 'remoteWorkers';
/** The name of the URL in messages: the field of `setRemoteWorkers`. */
const FIELD = 'redisUrl';
const EXPECTED = 'expected redis://[user:password@]host[:port][/db] or rediss://...';

const sectionSchema = z
  .object({ redisUrl: z.string().nullable().default(null), localThreads: z.boolean().default(true) })
  .default({ redisUrl: null, localThreads: true });
type Section = z.output<typeof sectionSchema>;

/** Where the engine started: what runs now, and what kept it from running the setting. */
interface Started {
  running: RemoteWorkersChoice;
  problem: string | null;
}

export class RemoteWorkersSetting {
  private section: Section;
  private started: Started | null = null;

  constructor(
    /** `settings.json` in the app's user-data folder. */
    private readonly settingsFile: string,
    private readonly log: (line: string) => void = (line) => console.warn(line),
  ) {
    this.section = this.read();
  }

  /**
   * The engine's options for what is set. A Redis that cannot be reached (or a URL in the file
   * that is not one) is not an error: it leaves the local pool running, and says so in `notices`; with
   * local threads off, the remote executor is kept (it connects when Redis comes back) and the
   * notice says why no sync task runs meanwhile. Throws only what the engine would (no pool build).
   */
  async engineOptions(options: EngineOptions): Promise<EngineOptions> {
    const { redisUrl, localThreads } = this.section;
    const wanted: RemoteWorkersChoice = { redisUrl: redisUrl === null ? null : shownUrl(redisUrl), localThreads };
    if (redisUrl === null) {
      // Local threads off without a Redis would leave nowhere to run sync tasks; `set` refuses it, a hand-edited file is overruled.
      this.started = { running: { redisUrl: null, localThreads: true }, problem: localThreads ? null : 'local threads are off but no Redis URL is set; the app runs its local threads' };
      if (!localThreads) this.log(`Threadline remote workers: ${this.started.problem}`);
      return options;
    }
    let target: RedisTarget;
    try {
      target = parseUrl(redisUrl);
    } catch (error) {
      return this.fallBack(options, `${(error as Error).message}; the app runs its local threads`);
    }
    let withRemote: EngineOptions;
    try {
      // Reaches Redis once before the engine starts, as `--redis` does.
      withRemote = await withRemoteWorkers(options, { redis: redisUrl, workers: localThreads ? undefined : 0 });
    } catch (error) {
      if (!(error instanceof CliError)) throw error;
      const unreachable = atStart(error.message);
      if (localThreads) return this.fallBack(options, `${unreachable}; the app runs its local threads only until it starts again`);
      // No local pool asked for: sync tasks wait for Redis and a worker rather than run where they were not meant to.
      const problem = `${unreachable}; local threads are off, so no sync task can run until Redis answers and a threadline worker announces itself (or turn local threads on)`;
      this.started = { running: wanted, problem };
      this.log(`Threadline remote workers: ${problem}`);
      return { ...options, executors: { ...options.executors, pool: (listener) => new RemoteExecutor(target, listener, true) }, notices: [...(options.notices ?? []), notice(problem)] };
    }
    this.started = { running: wanted, problem: null };
    return withRemote;
  }

  status(): RemoteWorkersStatus {
    const setting: RemoteWorkersChoice = { redisUrl: this.section.redisUrl === null ? null : shownUrl(this.section.redisUrl), localThreads: this.section.localThreads };
    const running = this.started?.running ?? setting;
    const restartNeeded = setting.redisUrl !== running.redisUrl || setting.localThreads !== running.localThreads;
    return { setting, running, restartNeeded, problem: this.started?.problem ?? null };
  }

  /** Keeps a change for the next start of the engine; a URL that is not one is refused, naming the field and what is expected. */
  set(change: { redisUrl?: string | null; localThreads?: boolean }): RemoteWorkersStatus {
    const typed = change.redisUrl === undefined ? this.section.redisUrl : change.redisUrl === null ? null : change.redisUrl.trim() || null;
    if (typed !== null && change.redisUrl !== undefined) {
      try {
        parseUrl(typed);
      } catch (error) {
        throw new ApiCallError({ code: 'BAD_REQUEST', message: (error as Error).message });
      }
    }
    const localThreads = change.localThreads ?? this.section.localThreads;
    if (!localThreads && typed === null) {
      throw new ApiCallError({ code: 'BAD_REQUEST', message: `localThreads: can be off only with a ${FIELD}: with no local threads, sync tasks run only on remote workers` });
    }
    this.section = { redisUrl: typed, localThreads };
    writeSettingsSection(this.settingsFile, SECTION, this.section);
    return this.status();
  }

  private fallBack(options: EngineOptions, problem: string): EngineOptions {
    this.started = { running: { redisUrl: null, localThreads: true }, problem };
    this.log(`Threadline remote workers: ${problem}`);
    return { ...options, notices: [...(options.notices ?? []), notice(problem)] };
  }

  private read(): Section {
    const parsed = sectionSchema.safeParse(readSettingsFile(this.settingsFile, () => {})[SECTION]);
    if (parsed.success) return parsed.data;
    this.log(`Threadline: ${this.settingsFile}: ${SECTION} is not valid (${parsed.error.issues[0]?.message ?? 'invalid'}); using no remote workers`);
    return sectionSchema.parse(undefined);
  }
}

/** Reads the URL as `--redis` does, naming the setting's field; what was typed is not repeated (it may hold a password). */
function parseUrl(text: string): RedisTarget {
  if (!URL.canParse(text)) throw new CliError(`${FIELD}: not a URL; ${EXPECTED}`);
  return parseRedisUrl(text, FIELD);
}

/** The URL with its password as `***`, for the panel; one that does not parse is not shown at all. */
function shownUrl(text: string): string {
  try {
    return parseUrl(text).shown;
  } catch {
    return '(not a valid URL)';
  }
}

/**
 * `cannot reach Redis at URL: reason` as what it stays true of while the app runs: the moment it
 * started (Redis may answer later; the notice is not taken back).
 */
function atStart(message: string): string {
  const said = /^cannot reach Redis at (\S+): (.+)$/.exec(message);
  return said ? `Redis at ${said[1]} could not be reached when the app started (${said[2]})` : message;
}

function notice(message: string): HostNotice {
  return { code: 'REDIS_UNREACHABLE', message, since: Date.now() };
}
