import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './free-port.js';
import { onCleanup, tempDir } from './engine-fixture.js';

/**
 * A redis-server of the test's own: a free port on 127.0.0.1, a temporary folder, the
 * append-only file on (so that a restart keeps what was written). Never a system service.
 */
export class TestRedis {
  readonly dir = tempDir('threadline-redis-');
  private process: ChildProcess | null = null;

  private constructor(
    readonly port: number,
    readonly password: string | null,
  ) {}

  static async start(options: { password?: string } = {}): Promise<TestRedis> {
    const redis = new TestRedis(await freePort(), options.password ?? null);
    await redis.launch();
    onCleanup(() => redis.kill());
    return redis;
  }

  get url(): string {
    return this.password === null ? `redis://127.0.0.1:${this.port}` : `redis://:${encodeURIComponent(this.password)}@127.0.0.1:${this.port}`;
  }

  /** Starts it (again, on the same port and folder). */
  async launch(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--daemonize', 'no'];
    if (this.password !== null) args.push('--requirepass', this.password);
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.process = child;
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          child.stdout!.off('data', onData);
          child.stdout!.resume();
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.on('error', reject);
      child.on('exit', (code) => reject(new Error(`redis-server exited (${code}) before it was ready:\n${output}`)));
    });
  }

  /** Sends it a signal: SIGSTOP makes a Redis that keeps its connections open and answers nothing, SIGCONT lets it go on. */
  signal(signal: NodeJS.Signals): void {
    this.process?.kill(signal);
  }

  /** Ends it at once, as a crash would (the append-only file keeps what was written). */
  async kill(): Promise<void> {
    const child = this.process;
    this.process = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}

