import { createConnection, createServer, type Socket } from 'node:net';
import { onCleanup } from '../support/engine-fixture.js';

/** How a link ends a connection once its bytes are spent: a TCP reset, or a plain close (FIN). */
export type CutHow = 'reset' | 'end';

/**
 * A TCP link of the test's own between a client and a Redis on 127.0.0.1, as a flaky VPN or a
 * proxy with limits is: each connection carries `afterBytes` (both ways together), then the link
 * cuts it, mid-reply if that is where the count runs out. The client may connect again, and
 * is cut again. `heal()` lets every connection made after it through whole. A link opened with
 * `afterBytes` null cuts nothing until `cutFrom`, so a test can bring its client to the state it
 * needs first.
 */
export class CuttingLink {
  /** Connections the link has accepted, and how many of them it cut. */
  connections = 0;
  cuts = 0;
  private limit: number | null;
  private readonly sockets = new Set<Socket>();
  /** How to cut each connection open now. */
  private readonly open = new Set<() => void>();

  private constructor(
    readonly port: number,
    afterBytes: number | null,
    private readonly how: CutHow,
  ) {
    this.limit = afterBytes;
  }

  /** Opens a link to the Redis listening on `redisPort` (uncut while `afterBytes` is null); closed after the test. */
  static async open(redisPort: number, afterBytes: number | null, how: CutHow): Promise<CuttingLink> {
    let link: CuttingLink | null = null;
    const server = createServer((client) => link!.carry(client, redisPort));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    link = new CuttingLink((server.address() as { port: number }).port, afterBytes, how);
    const opened = link;
    onCleanup(async () => {
      for (const socket of opened.sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    });
    return link;
  }

  /** A Redis URL through the link (with the password of `redisUrl`, if any). */
  url(redisUrl: string): string {
    const url = new URL(redisUrl);
    url.port = String(this.port);
    return url.href.replace(/\/$/, '');
  }

  /** Connections opened from now on are not cut. */
  heal(): void {
    this.limit = null;
  }

  /** From now on every connection carries `afterBytes` at most; those open now are cut at once. */
  cutFrom(afterBytes: number): void {
    this.limit = afterBytes;
    for (const cut of this.open) cut();
  }

  private carry(client: Socket, redisPort: number): void {
    this.connections++;
    const limit = this.limit;
    const server = createConnection({ host: '127.0.0.1', port: redisPort });
    for (const socket of [client, server]) {
      this.sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => this.sockets.delete(socket));
    }
    let left = limit ?? Infinity;
    let cut = false;
    const pass = (from: Socket, to: Socket) => {
      from.on('data', (chunk: Buffer) => {
        if (cut) return;
        if (chunk.length < left) {
          left -= chunk.length;
          to.write(chunk);
          return;
        }
        // The bytes up to the limit pass, the rest never does: a cut mid-command or mid-reply.
        to.write(chunk.subarray(0, left), () => this.cut(client, server));
        left = 0;
        cut = true;
      });
      from.on('end', () => to.end());
      from.on('close', () => {
        if (!to.destroyed) to.destroy();
      });
    };
    pass(client, server);
    pass(server, client);
    const cutNow = () => {
      if (cut) return;
      cut = true;
      this.cut(client, server);
    };
    this.open.add(cutNow);
    client.on('close', () => this.open.delete(cutNow));
  }

  private cut(client: Socket, server: Socket): void {
    this.cuts++;
    if (this.how === 'reset') {
      client.resetAndDestroy();
      server.resetAndDestroy();
    } else {
      // What comes after is not forwarded (see `carry`); each side sees the link close.
      client.end();
      server.end();
    }
  }
}
