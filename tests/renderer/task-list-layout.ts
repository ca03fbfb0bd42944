import { afterAll, beforeAll } from 'vitest';

/**
 * happy-dom does no layout: gives the task list's scroll box a height for the file's tests, so
 * the virtualizer has a window, and takes it back afterwards.
 */
export function giveTaskListAHeight(): void {
  const layout = Object.getOwnPropertyDescriptor(HTMLElement.prototype, 'clientHeight');
  beforeAll(() => {
    Object.defineProperty(HTMLElement.prototype, 'clientHeight', {
      configurable: true,
      get(this: HTMLElement) {
        return this.classList.contains('task-scroll') ? 400 : 0;
      },
    });
  });
  afterAll(() => {
    if (layout) Object.defineProperty(HTMLElement.prototype, 'clientHeight', layout);
  });
}
