import stringWidth from 'string-width';
import { oneLine } from './terminal-text.js';

/**
 * How many terminal columns text takes, and cutting it to a number of columns. A character is not
 * a column: a CJK character or an emoji takes two, a combining accent or a zero-width joiner none,
 * and one emoji may be several code points joined. Tables and the live display measure and cut
 * what they print here, so their columns stay in line and no line wraps. string-width knows the
 * widths; text is cut between graphemes (what a reader sees as one character), never inside one.
 * Only the modules that print a table or cut text load this, not every command at its start.
 */
const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** The columns `text` (as printed: no control characters) takes on a terminal. */
export function displayWidth(text: string): number {
  return stringWidth(text);
}

/** `text` cut to at most `width` columns, ending with `…` when cut; a wide character that would not fit whole is left out. */
export function fitToWidth(text: string, width: number): string {
  return fitted(text, width).text;
}

/** `fitToWidth`, and the columns its text takes: a table measures each cell once (measuring is the costly part). */
export function fitted(text: string, width: number): { text: string; columns: number } {
  const whole = stringWidth(text);
  if (whole <= width) return { text, columns: whole };
  let kept = '';
  let used = 0;
  for (const { segment } of graphemes.segment(text)) {
    const columns = stringWidth(segment);
    if (used + columns > width - 1) break;
    kept += segment;
    used += columns;
  }
  return { text: `${kept}…`, columns: used + 1 };
}

/** `text` followed by spaces up to `width` columns. */
export function padToWidth(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - stringWidth(text)));
}

/** `oneLine`, cut to `width` columns with an ellipsis: for table cells and one-line messages, never for --json. */
export function clipped(text: string, width: number): string {
  return fitToWidth(oneLine(text), width);
}
