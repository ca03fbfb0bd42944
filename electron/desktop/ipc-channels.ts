/** The IPC channels between the preload and the main process; nothing else is listened to. */
export const IPC_CHANNELS = {
  /** invoke(method, params): one of the contract's or the desktop's methods; answers an ApiOutcome. */
  call: 'threadline:call',
  /** invoke(): start (or restart, with a fresh snapshot) this window's event stream. */
  subscribe: 'threadline:subscribe',
  unsubscribe: 'threadline:unsubscribe',
  resync: 'threadline:resync',
  /** main -> window: one ApiEvent (a snapshot or a batched delta). */
  event: 'threadline:event',
} as const;
