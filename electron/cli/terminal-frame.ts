import { fitToWidth } from './display-width.js';
import { terminalSafe } from './terminal-text.js';

const ESC = '\u001b[';

/**
 * A block of lines redrawn in place at the bottom of a terminal, with log lines printed above
 * it. Every change is one write (erase the block, print, draw it again), so nothing else can
 * land between the erase and the draw, and lines are cut at the terminal's width (in columns: a CJK character takes two) so that none
 * wraps and the block's height stays what was written.
 */
export class TerminalFrame {
  private height = 0;
  private lines: string[] = [];
  private closed = false;

  constructor(private readonly stream: NodeJS.WriteStream) {}

  /** Replaces the block's lines. */
  draw(lines: string[]): void {
    if (this.closed) return;
    this.lines = lines.map((line) => this.fit(terminalSafe(line)));
    this.stream.write(this.erase() + this.render());
  }

  /** Prints lines above the block, which stays below them. */
  log(line: string): void {
    const text = terminalSafe(line);
    if (this.closed) {
      this.stream.write(`${text}\n`);
      return;
    }
    this.stream.write(`${this.erase()}${text}\n${this.render()}`);
  }

  /** Erases the block for good (or leaves its last state, `keep`); later logs print plainly. */
  close(options: { keep?: boolean } = {}): void {
    if (this.closed) return;
    this.stream.write(options.keep ? '' : this.erase());
    this.closed = true;
    this.height = 0;
  }

  private render(): string {
    this.height = this.lines.length;
    return this.lines.length === 0 ? '' : `${this.lines.join('\n')}\n`;
  }

  /** Back to the block's first line, and everything below the cursor cleared (a typed ^C too). */
  private erase(): string {
    const up = this.height > 0 ? `${ESC}${this.height}A` : '';
    this.height = 0;
    return `${up}\r${ESC}J`;
  }

  private fit(line: string): string {
    return fitToWidth(line, Math.max(20, (this.stream.columns || 80) - 1));
  }
}
