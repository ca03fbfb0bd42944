import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { CutOffWorkers } from '../../electron/remote/cut-off-workers.js';
import { LinkWatch } from '../../electron/remote/link-watch.js';
import { LINK_CUTS, LINK_CUT_WINDOW_MS, LINK_PROBE_BYTES, LOST_AFTER_MS, type LinkCut, type WorkerAnnouncement } from '../../electron/remote/remote-protocol.js';
import { MAX_MACHINES } from '../../electron/remote/worker-roster.js';
import { onCleanup, waitFor } from '../support/engine-fixture.js';
import { TestRedis } from '../support/redis-server.js';
import { CuttingLink } from './cutting-link.js';

/** Three connections as a worker keeps them (commands, announcements, the queue's), watched, on `port`. */
function watchedClients(port: number, watch: LinkWatch): Redis[] {
  const clients = [0, 1, 2].map(() => new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: null, retryStrategy: (times) => Math.min(100 * times, 1000) }));
  for (const client of clients) {
    client.on('error', () => {});
    watch.watch(client);
    onCleanup(() => client.disconnect());
  }
  return clients;
}

describe('counting cut connections (a real redis-server, real ioredis clients)', () => {
  it('a link that cuts each connection after 2 KB: told once, with the count and how the last ended; clear once none is cut for the window', async () => {
    const redis = await TestRedis.start();
    const link = await CuttingLink.open(redis.port, 2000, 'reset');
    let now = Date.now();
    const heard: Array<LinkCut | null> = [];
    const watch = new LinkWatch((trouble) => heard.push(trouble), () => now);
    const [client] = watchedClients(link.port, watch);
    // A command bigger than what the link lets through: sent again on each new connection, cut each time.
    void client!.set('big', 'x'.repeat(10_000)).catch(() => {});
    await waitFor(() => heard.length > 0, 30_000, 'the link to be found cut');
    // A reset seen while a read is pending is ECONNRESET; one seen otherwise is a plain close.
    expect(heard).toEqual([{ cuts: LINK_CUTS, reason: expect.stringMatching(/^(reset \(ECONNRESET\)|closed by the other end)$/) }]);
    await waitFor(() => (watch.current()?.cuts ?? 0) > LINK_CUTS, 30_000, 'more cuts to be counted');
    expect(heard).toHaveLength(1);

    link.heal();
    await waitFor(() => link.connections > link.cuts, 30_000, 'a connection the link no longer cuts');
    expect(await client!.get('big')).toHaveLength(10_000);
    now += LINK_CUT_WINDOW_MS + 1;
    expect(watch.current()).toBeNull();
    expect(heard).toEqual([expect.objectContaining({ cuts: LINK_CUTS }), null]);
  });

  it('a link that still cuts, with nothing big left to send: a window with no cut is not taken for holding until the probe, on a connection of its own, gets through', async () => {
    const redis = await TestRedis.start();
    const link = await CuttingLink.open(redis.port, 20_000, 'end');
    let now = Date.now();
    const heard: Array<LinkCut | null> = [];
    const probe = 'x'.repeat(LINK_PROBE_BYTES);
    const probes: Redis[] = [];
    let watch: LinkWatch | null = null;
    // As the worker sends it: a connection made for the probe, never sending it again, closed after it.
    const sendProbe = async () => {
      const client = new Redis({ host: '127.0.0.1', port: link.port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
      client.on('error', () => {});
      probes.push(client);
      const letGo = watch!.watch(client);
      try {
        await client.connect();
        await client.echo(probe);
        letGo();
      } finally {
        client.disconnect();
      }
    };
    watch = new LinkWatch((trouble) => heard.push(trouble), () => now, sendProbe);
    const [big, quiet] = watchedClients(link.port, watch);
    // A task's end, sent again on each connection until the link is found cut; then it is given up.
    void big!.set('big', 'x'.repeat(40_000)).catch(() => {});
    await waitFor(() => heard.length > 0, 30_000, 'the link to be found cut');
    big!.disconnect();
    // Announcements and renewals pass: nothing is cut for a whole window.
    expect(await quiet!.ping()).toBe('PONG');
    now += LINK_CUT_WINDOW_MS + 1;
    expect(watch.current()).toEqual({ cuts: 0, reason: expect.any(String) });
    expect(probes).toHaveLength(1);
    // The probe's connection is cut, and that counts: still cut off, and no probe again within the window.
    await waitFor(() => watch.current()?.cuts === 1, 30_000, 'the probe to be cut');
    await waitFor(() => probes[0]!.status === 'end', 30_000, 'the probe connection to be closed');
    expect(watch.current()).toEqual({ cuts: 1, reason: expect.any(String) });
    expect(probes).toHaveLength(1);
    // The commands of the other connections pass meanwhile: nothing waits behind the probe.
    expect(await quiet!.ping()).toBe('PONG');
    now += LINK_CUT_WINDOW_MS + 1;
    watch.current();
    expect(probes).toHaveLength(2);
    await waitFor(() => watch.current()?.cuts === 1, 30_000, 'the second probe to be cut');
    expect(heard).toHaveLength(1);

    link.heal();
    now += LINK_CUT_WINDOW_MS + 1;
    await waitFor(() => (watch.current(), heard.length === 2), 30_000, 'the connections to hold again');
    expect(heard).toEqual([expect.objectContaining({ cuts: LINK_CUTS }), null]);
    // The probe that got through is closed, and that close is no cut.
    await waitFor(() => probes.at(-1)!.status === 'end', 30_000, 'the last probe connection to be closed');
    expect(watch.current()).toBeNull();
  });

  it('Redis killed and started again: each connection is cut once, not taken for a link that cannot keep one', async () => {
    const redis = await TestRedis.start();
    const heard: Array<LinkCut | null> = [];
    const watch = new LinkWatch((trouble) => heard.push(trouble));
    const clients = watchedClients(redis.port, watch);
    await Promise.all(clients.map((client) => client.ping()));
    await redis.kill();
    await redis.launch();
    await Promise.all(clients.map((client) => client.ping()));
    expect(watch.current()).toBeNull();
    expect(heard).toEqual([]);
  });
});

function announcement(name: string, linkCut?: LinkCut, state: WorkerAnnouncement['state'] = 'ready'): WorkerAnnouncement {
  return { name, host: 'rack-7', threads: 2, running: 0, state, rssBytes: 1, loopDelayP99Ms: 1, ...(linkCut ? { linkCut } : {}) };
}

describe('the notice of workers cut off', () => {
  it('changes once per worker, names five and counts the rest, clears when they hold, leave or fall silent', () => {
    let now = 1000;
    const cut = new CutOffWorkers(() => now);
    const trouble = { cuts: 9, reason: 'reset (ECONNRESET)' };
    expect(cut.heard(announcement('build-1'))).toBe(false);
    expect(cut.notice()).toBeNull();
    expect(cut.heard(announcement('build-1', trouble))).toBe(true);
    expect(cut.heard(announcement('build-1', { ...trouble, cuts: 12 }))).toBe(false);
    expect(cut.notice()).toEqual({
      code: 'REMOTE_WORKER_CUT_OFF',
      since: 1000,
      message:
        'the remote worker "build-1" on host "rack-7" (12 connections cut within 10 s, the last reset (ECONNRESET)) cannot keep a connection to Redis: it takes no new task, a task whose end cannot get through runs again on another worker, and one found stalled twice so fails (REMOTE_LINK_CUT); check the network between that machine and Redis (a VPN or a proxy that cuts connections)',
    });
    for (let i = 2; i <= 7; i++) cut.heard(announcement(`build-${i}`, trouble));
    expect(cut.notice()!.message).toMatch(/^the remote workers "build-1" on host "rack-7" \(12 .*\), "build-5" on host "rack-7" \(9 connections cut within 10 s, the last reset \(ECONNRESET\)\) and 2 others cannot keep a connection to Redis: they take no new task/);

    // Holding again, leaving, or silent for as long as a lost worker: each drops out.
    expect(cut.heard(announcement('build-1'))).toBe(true);
    expect(cut.heard(announcement('build-2', undefined, 'leaving'))).toBe(true);
    now += LOST_AFTER_MS + 1;
    cut.heard(announcement('build-3', trouble));
    expect(cut.forgetSilent()).toBe(true);
    expect(cut.notice()!.message).toMatch(/^the remote worker "build-3" on host/);
    // Each remembers when it was last cut off, for a task found stalled twice there.
    expect(cut.cutSince('build-1', 1000)).toBe(true);
    expect(cut.cutSince('build-1', 1001)).toBe(false);
    expect(cut.namesCutSince(now)).toEqual(['build-3']);
  });

  it('remembers as many machines as the roster keeps, not more', () => {
    const cut = new CutOffWorkers(() => 5);
    for (let i = 0; i < MAX_MACHINES + 50; i++) cut.heard(announcement(`build-${i}`, { cuts: 8, reason: 'closed by the other end' }));
    expect(cut.namesCutSince(0)).toHaveLength(MAX_MACHINES);
    expect(cut.cutSince('build-0', 0)).toBe(false);
    expect(cut.cutSince(`build-${MAX_MACHINES + 49}`, 0)).toBe(true);
  });
});
