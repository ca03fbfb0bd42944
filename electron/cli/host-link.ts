import type { NodeApiClient } from '../serve/node-api-client.js';
import { findRunningServe, hostName, type ServeInfo } from '../serve/serve-info.js';
import { CliError } from './cli-error.js';

// The WebSocket client and the API's schemas load only when there is a host to reach: a run
// on a data directory without one does not pay for them at start.
async function connectApi(options: { host: string; port: number; token: string }): Promise<NodeApiClient> {
  return (await import('../serve/node-api-client.js')).connectApi(options);
}

/** A connection to the host that owns a data directory, and what its serve file says of it. */
export interface HostLink {
  client: NodeApiClient;
  info: ServeInfo;
}

/**
 * The host that owns a data directory (`threadline serve` or the desktop app), reached through
 * its API: its serve file says where it listens, and only an answer proves it is there. Null
 * when there is no serve file or nothing answers at its address (a host that died without
 * removing it); the store's lock then decides whether this process may open the store.
 */
export async function reachHost(dataDir: string): Promise<HostLink | null> {
  const found = findRunningServe(dataDir);
  if (!found.ok) return null;
  const { host, port, token } = found.info;
  try {
    return { client: await connectApi({ host, port, token }), info: found.info };
  } catch {
    return null;
  }
}

/** Connects to the host its serve file names; one line, not a stack, when it does not answer. */
export async function connectServe(info: Pick<ServeInfo, 'host' | 'port' | 'token' | 'app'>): Promise<NodeApiClient> {
  const { host, port, token } = info;
  try {
    return await connectApi({ host, port, token });
  } catch (error) {
    throw new CliError(`cannot reach ${hostName(info)} at ${host}:${port}: ${(error as Error).message}`);
  }
}
