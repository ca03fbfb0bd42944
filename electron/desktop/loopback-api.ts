/**
 * The desktop app as a host the CLI reaches: while the app owns its data directory, the API
 * contract is served over a WebSocket on 127.0.0.1 (a free port, a fresh token each launch),
 * and `serve.json` in the data directory says where, as `threadline serve` does. So
 * `threadline run`, `resume`, `cancel`, `rerun` and `schedule` beside the app run there.
 * Nothing else is served: no pages, no other address than loopback.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { API_WEBSOCKET_PATH } from '../../contract/api.js';
import type { ApiHandlers } from '../hosts/api-handlers.js';
import type { EventBatcher } from '../hosts/event-batcher.js';
import { newToken } from '../serve/access.js';
import { startApiServer, type ApiServer } from '../serve/api-server.js';
import { removeServeInfo, SERVE_INFO_FILE, writeServeInfo } from '../serve/serve-info.js';

const LOOPBACK = '127.0.0.1';

export interface LoopbackApiOptions {
  dataDir: string;
  handlers: ApiHandlers;
  batcher: EventBatcher;
  /** 0 (the default) picks a free port. */
  port?: number;
  log?: (line: string) => void;
}

export interface LoopbackApi {
  /** Where it listens, or null when it could not (the app runs on; the CLI is then refused the data directory as before). */
  readonly port: number | null;
  /** Removes `serve.json` and stops listening. */
  close(): Promise<void>;
}

/** Call it only while the app owns the data directory (holds the store's lock): then any serve file there is a dead host's. */
export async function startLoopbackApi(options: LoopbackApiOptions): Promise<LoopbackApi> {
  const log = options.log ?? ((line: string) => console.warn(line));
  const notListening = (): LoopbackApi => {
    // A dead host's file would only send commands to a port where nothing of ours answers.
    try {
      rmSync(join(options.dataDir, SERVE_INFO_FILE), { force: true });
    } catch {
      // an unwritable data directory was reported already
    }
    return { port: null, close: async () => {} };
  };
  const token = newToken();
  const wanted = options.port ?? 0;
  let server: ApiServer;
  try {
    server = await startApiServer({ host: LOOPBACK, port: wanted, token, handlers: options.handlers, batcher: options.batcher });
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    log(`Threadline: the API for threadline commands cannot listen on ${LOOPBACK}:${wanted}: ${code === 'EADDRINUSE' ? 'the port is in use' : message}; commands beside the app are refused its data directory`);
    return notListening();
  }
  try {
    // Replaces a file a crashed host left.
    writeServeInfo(options.dataDir, {
      url: `ws://${LOOPBACK}:${server.port}${API_WEBSOCKET_PATH}`,
      host: LOOPBACK,
      port: server.port,
      token,
      pid: process.pid,
      startedAt: Date.now(),
      app: 'desktop',
    });
  } catch (error) {
    log(`Threadline: cannot write the serve file into ${options.dataDir} (${(error as Error).message.split('\n')[0]}); commands beside the app are refused its data directory`);
    await server.close();
    return notListening();
  }
  let closed: Promise<void> | null = null;
  return {
    port: server.port,
    close() {
      closed ??= (() => {
        // First the file, so that no command starts to reach an API that is going away.
        removeServeInfo(options.dataDir);
        return server.close();
      })();
      return closed;
    },
  };
}
