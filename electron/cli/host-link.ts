import { connectApi, type NodeApiClient } from '../serve/node-api-client.js';
import { findRunningServe } from '../serve/serve-info.js';

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
