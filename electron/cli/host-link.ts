import { connectApi, type NodeApiClient } from '../serve/node-api-client.js';
import { findRunningServe, type ServeInfo } from '../serve/serve-info.js';
import { CliError } from './cli-error.js';

/**
 * The host that owns a data directory (`threadline serve`), reached through its API: its
 * serve file says where it listens, and only an answer proves it is there. Null when there is
 * no serve file or nothing answers at its address (a host that died without removing it).
 */
export async function reachHost(dataDir: string): Promise<NodeApiClient | null> {
  const found = findRunningServe(dataDir);
  if (!found.ok) return null;
  const { host, port, token } = found.info;
  try {
    return await connectApi({ host, port, token });
  } catch {
    return null;
  }
}

/** Connects to the serve its file names; one line, not a stack, when it does not answer. */
export async function connectServe({ host, port, token }: Pick<ServeInfo, 'host' | 'port' | 'token'>): Promise<NodeApiClient> {
  try {
    return await connectApi({ host, port, token });
  } catch (error) {
    throw new CliError(`cannot reach "threadline serve" at ${host}:${port}: ${(error as Error).message}`);
  }
}
