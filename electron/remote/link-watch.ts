import type { Redis } from 'ioredis';
import { LINK_CUTS, LINK_CUT_WINDOW_MS, type LinkCut } from './remote-protocol.js';

/**
 * Counts the worker's connections to Redis that are cut once they had connected. A link that
 * ends every connection after so many bytes (a flaky VPN, a proxy with limits) lets ioredis
 * connect again at once, and cuts it again: commands and announcements may still pass while a
 * command bigger than what the link lets through (a task's end, with its result) never does.
 * Left alone, that is a task that never ends and a worker that says nothing; counted, it is a
 * condition the worker tells of, and acts on, until the connections hold again.
 */
export class LinkWatch {
  private cuts: number[] = [];
  private reason = 'closed by the other end';
  private trouble: LinkCut | null = null;
  private closed = false;
  private probing = false;

  constructor(
    /** Hears when the worker can no longer keep its connections (with why), and when they hold again (null). */
    private readonly onChange: (trouble: LinkCut | null) => void,
    private readonly now: () => number = Date.now,
    /**
     * Sends what the link must carry before its connections count as holding again (resolves once
     * it got through); without it, a window with no cut is enough. A link cutting connections after
     * so many bytes leaves a worker that sends nothing big in peace: quiet alone is no proof.
     */
    private readonly probe?: () => Promise<unknown>,
  ) {}

  /** Counts the cuts of `client`'s connections; the function returned is called before the worker closes it itself, so that close is no cut. */
  watch(client: Redis): () => void {
    let open = false;
    let letGo = false;
    client.on('connect', () => (open = true));
    client.on('error', (error: unknown) => {
      if (open) this.reason = cutReason(error);
    });
    client.on('close', () => {
      if (!open) return;
      open = false;
      if (!letGo) this.cut();
    });
    return () => (letGo = true);
  }

  /** The trouble now, if any: read with each announcement, which also clears it after a quiet while (and, given a probe, once that got through). */
  current(): LinkCut | null {
    this.forgetOld();
    if (this.trouble && this.cuts.length === 0) {
      if (!this.probe) this.holding();
      else if (!this.probing) this.probeLink(this.probe);
    }
    return this.trouble ? { ...this.trouble, cuts: this.cuts.length } : null;
  }

  /** The worker lets go of its connections itself: those closes are not cuts. */
  close(): void {
    this.closed = true;
  }

  /**
   * Holding again once the probe got through with no cut meanwhile. Over a link still cutting, its
   * connection is cut (a cut counted, given the probe's connection is watched), so the trouble
   * stays told of and the probe waits for the next quiet window.
   */
  private probeLink(probe: () => Promise<unknown>): void {
    this.probing = true;
    probe().then(
      () => {
        this.probing = false;
        this.forgetOld();
        if (this.trouble && this.cuts.length === 0 && !this.closed) this.holding();
      },
      () => (this.probing = false),
    );
  }

  private holding(): void {
    this.trouble = null;
    this.onChange(null);
  }

  private cut(): void {
    if (this.closed) return;
    this.cuts.push(this.now());
    this.forgetOld();
    const reason = this.reason;
    this.reason = 'closed by the other end';
    if (this.trouble) {
      this.trouble = { cuts: this.cuts.length, reason };
      return;
    }
    if (this.cuts.length < LINK_CUTS) return;
    this.trouble = { cuts: this.cuts.length, reason };
    this.onChange(this.trouble);
  }

  private forgetOld(): void {
    const since = this.now() - LINK_CUT_WINDOW_MS;
    while (this.cuts.length > 0 && this.cuts[0]! < since) this.cuts.shift();
  }
}

function cutReason(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  if (code === 'ECONNRESET') return 'reset (ECONNRESET)';
  if (code === 'EPIPE') return 'closed while writing (EPIPE)';
  if (code === 'ETIMEDOUT') return 'timed out';
  return 'closed by the other end';
}
