/**
 * What a terminal shows after some output, for the few controls the CLI's live display uses:
 * carriage return, line feed, cursor up (CSI n A) and erase below (CSI J). Other escape
 * sequences are skipped. Each erase records the screen as it was, so a test can look at
 * every frame the display drew, not only the last.
 */
export class TerminalScreen {
  readonly lines: string[] = [''];
  readonly frames: string[][] = [];
  private row = 0;
  private col = 0;

  write(text: string): this {
    for (let i = 0; i < text.length; i++) {
      const ch = text[i]!;
      if (ch === '\u001b') {
        const match = /^\[([?\d;]*)([A-Za-z])/.exec(text.slice(i + 1, i + 16));
        if (!match) continue;
        i += match[0].length;
        const n = Number(match[1] || '1');
        if (match[2] === 'A') this.row = Math.max(0, this.row - n);
        else if (match[2] === 'J') this.eraseBelow();
        continue;
      }
      if (ch === '\r') this.col = 0;
      else if (ch === '\n') {
        this.row++;
        this.col = 0;
        while (this.lines.length <= this.row) this.lines.push('');
      } else {
        const line = this.lines[this.row]!.padEnd(this.col);
        this.lines[this.row] = line.slice(0, this.col) + ch + line.slice(this.col + 1);
        this.col++;
      }
    }
    return this;
  }

  private eraseBelow(): void {
    this.frames.push(this.lines.slice());
    this.lines[this.row] = this.lines[this.row]!.slice(0, this.col);
    this.lines.length = this.row + 1;
  }

  /** The screen's text, without trailing blank lines. */
  text(): string {
    return this.lines.join('\n').replace(/\s+$/, '');
  }
}
