import * as demo from './demo.js';
import type { TaskHandler } from './handler.js';

/** The pool kinds this worker can run, by the name job files use. */
export const HANDLERS: Readonly<Record<string, TaskHandler<never>>> = {
  'demo.echo': demo.echo,
  'demo.cpu': demo.cpu,
  'demo.block': demo.block,
  'demo.alloc': demo.alloc,
  'demo.fail': demo.fail,
};
