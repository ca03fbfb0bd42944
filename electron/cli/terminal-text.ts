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
