/**
 * The job store's schema, versioned with `PRAGMA user_version`. Append a migration to change
 * it; never edit one that has shipped.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: jobs, tasks, attempts and the owner lock.
  `
  CREATE TABLE owner (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    started_at INTEGER NOT NULL
  );
  CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    state TEXT NOT NULL,
    concurrency INTEGER,
    on_failure TEXT NOT NULL,
    base_dir TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    finished_at INTEGER,
    task_count INTEGER NOT NULL
  );
  CREATE INDEX jobs_state ON jobs (state);
  CREATE TABLE tasks (
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    input TEXT NOT NULL,
    priority INTEGER NOT NULL,
    timeout_ms INTEGER,
    retries INTEGER NOT NULL,
    retry_backoff_ms INTEGER NOT NULL,
    depends_on TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    queued_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    worker TEXT,
    progress REAL,
    error TEXT,
    result TEXT,
    PRIMARY KEY (job_id, id)
  ) WITHOUT ROWID;
  CREATE INDEX tasks_state ON tasks (state);
  CREATE TABLE attempts (
    job_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    started_at REAL NOT NULL,
    finished_at REAL,
    worker TEXT,
    state TEXT NOT NULL,
    PRIMARY KEY (job_id, task_id, attempt),
    FOREIGN KEY (job_id, task_id) REFERENCES tasks (job_id, id) ON DELETE CASCADE
  ) WITHOUT ROWID;
  `,
  // 2: telemetry samples taken while work ran, for traces of past jobs.
  `
  CREATE TABLE telemetry (
    at REAL PRIMARY KEY,
    sample TEXT NOT NULL
  ) WITHOUT ROWID;
  `,
  // 3: a big job is stored in several transactions; until the last one it is not admitted, and
  // what a crash leaves of it is removed on the next open.
  `
  ALTER TABLE jobs ADD COLUMN admitted INTEGER NOT NULL DEFAULT 1;
  `,
  // 4: schedules (a job file that runs by itself) and what became of each of their due times.
  `
  CREATE TABLE schedules (
    name TEXT PRIMARY KEY,
    cron TEXT NOT NULL,
    timezone TEXT,
    catch_up TEXT NOT NULL,
    overlap TEXT NOT NULL,
    paused INTEGER NOT NULL DEFAULT 0,
    spec TEXT NOT NULL,
    file_name TEXT NOT NULL,
    base_dir TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    handled_until INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE schedule_runs (
    id INTEGER PRIMARY KEY,
    schedule TEXT NOT NULL REFERENCES schedules (name) ON DELETE CASCADE,
    due_at INTEGER NOT NULL,
    at INTEGER NOT NULL,
    trigger TEXT NOT NULL,
    outcome TEXT NOT NULL,
    job_id TEXT,
    note TEXT
  );
  CREATE INDEX schedule_runs_schedule ON schedule_runs (schedule, id);
  `,
  // 5: task log lines, kept with their task: \`n\` counts every line the task ever wrote (from 1),
  // and only the newest lines are kept, so \`min(n) - 1\` lines were dropped.
  `
  CREATE TABLE task_logs (
    job_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    n INTEGER NOT NULL,
    at REAL NOT NULL,
    level TEXT NOT NULL,
    message TEXT NOT NULL,
    PRIMARY KEY (job_id, task_id, n),
    FOREIGN KEY (job_id, task_id) REFERENCES tasks (job_id, id) ON DELETE CASCADE
  ) WITHOUT ROWID;
  `,
  // 6: the crash ledger: tasks handed to an executor and not known to have ended (written before
  // they begin), and what earlier crashes charged each task with (see crash-ledger.ts).
  `
  CREATE TABLE task_runs (
    job_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    PRIMARY KEY (job_id, task_id),
    FOREIGN KEY (job_id, task_id) REFERENCES tasks (job_id, id) ON DELETE CASCADE
  ) WITHOUT ROWID;
  CREATE TABLE task_crashes (
    job_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    crashes INTEGER NOT NULL DEFAULT 0,
    suspect INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (job_id, task_id),
    FOREIGN KEY (job_id, task_id) REFERENCES tasks (job_id, id) ON DELETE CASCADE
  ) WITHOUT ROWID;
  `,
  // 7: `runOn: local` of a task (null: it runs wherever there is room, remote workers included).
  `
  ALTER TABLE tasks ADD COLUMN run_on TEXT;
  `,
  // 8: the crash ledger keeps one row per hand-over (its tasks as a JSON array of [jobId, taskId])
  // instead of one per task: marking a batch of 64 is one short insert, and its end one delete.
  // `task_runs` stays, as a view of the tasks of the hand-overs still recorded. The marks a
  // store of version 7 holds (its owner died) become one hand-over, and are charged as before.
  `
  CREATE TABLE hand_overs (
    id INTEGER PRIMARY KEY,
    tasks TEXT NOT NULL
  );
  INSERT INTO hand_overs (tasks) SELECT json_group_array(json_array(job_id, task_id)) FROM task_runs HAVING count(*) > 0;
  DROP TABLE task_runs;
  CREATE VIEW task_runs AS
    SELECT DISTINCT value ->> 0 AS job_id, value ->> 1 AS task_id FROM hand_overs, json_each(hand_overs.tasks);
  `,
  // 9: tasks are looked up by state only for those left running or cancelling (recovery): an
  // index of those alone is not touched when a task goes from queued to succeeded between writes.
  `
  DROP INDEX tasks_state;
  CREATE INDEX tasks_unfinished ON tasks (state) WHERE state IN ('running', 'cancelling');
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;
