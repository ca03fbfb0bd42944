/**
 * Text the CLI prints, made safe for a terminal. Job names, task ids, error messages and log lines
 * come from job files and tasks, which may be someone else's: an escape sequence among them
 * would clear the screen, retitle the window or rewrite the clipboard, and a bidirectional
 * override would show text in another order than it is. Each such character is printed as its
 * `\u` escape instead; line breaks and tabs stay. In JSON output a raw one can only be inside a
 * string, where its escape reads back as the same character.
 */
// C0 controls but tab and line feed, DEL, C1 controls, and the bidirectional embeddings, overrides and isolates.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** What `oneLine` prints for a backslash, a line break, a carriage return and a tab. */
const ONE_LINE_ESCAPES: Readonly<Record<string, string>> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * User text inside a line the CLI means as one line (a job's heading, a table cell, a task's end):
 * a line break or carriage return in it would start a line the reader takes for the CLI's own, or
 * overwrite the start of this one, so each is printed as `\n` or `\r`; a tab, whose width a table
 * cannot know, as `\t`. The rest as `terminalSafe`. A backslash of the text is printed as `\\`,
 * so that a name holding a backslash and an `n` does not read as one holding a line break: the
 * printed text reads back to the stored one by undoing `\\`, `\n`, `\r`, `\t` and `\uXXXX`.
 */
export function oneLine(text: string): string {
  return terminalSafe(text.replace(/[\\\n\r\t]/g, (c) => ONE_LINE_ESCAPES[c]!));
}

/**
 * One line of a user text printed over several lines (a stored log message, split at its line
 * breaks): as `oneLine`, but a tab stays a tab, which is harmless where no column follows.
 */
export function lineOfText(text: string): string {
  return terminalSafe(text.replace(/[\\\r]/g, (c) => ONE_LINE_ESCAPES[c]!));
}
