/**
 * Splits a SQL script into statements the way the sqlite3 shell does (SQLite's
 * `sqlite3_complete` state machine): a semicolon ends a statement unless it is inside a string,
 * a quoted name, a comment or the body of a CREATE TRIGGER, which ends at `END;`.
 */

export interface ScriptStatement {
  text: string;
  /** 1-based line of the statement's first character in the script. */
  line: number;
}

const enum Token {
  Semi = 0,
  Space = 1,
  Other = 2,
  Explain = 3,
  Create = 4,
  Temp = 5,
  Trigger = 6,
  End = 7,
}

const enum State {
  Invalid = 0,
  Start = 1,
  Normal = 2,
  Explain = 3,
  Create = 4,
  Trigger = 5,
  Semi = 6,
  End = 7,
}

/** complete.c's transition table: TRANSITIONS[state][token]. */
const TRANSITIONS: readonly (readonly State[])[] = [
  /* Invalid */ [1, 0, 2, 3, 4, 2, 2, 2],
  /* Start   */ [1, 1, 2, 3, 4, 2, 2, 2],
  /* Normal  */ [1, 2, 2, 2, 2, 2, 2, 2],
  /* Explain */ [1, 3, 3, 2, 4, 2, 2, 2],
  /* Create  */ [1, 4, 2, 2, 2, 4, 5, 2],
  /* Trigger */ [6, 5, 5, 5, 5, 5, 5, 5],
  /* Semi    */ [6, 6, 5, 5, 5, 5, 5, 7],
  /* End     */ [1, 7, 5, 5, 5, 5, 5, 5],
];

const KEYWORDS: Readonly<Record<string, Token>> = {
  explain: Token.Explain,
  create: Token.Create,
  temp: Token.Temp,
  temporary: Token.Temp,
  trigger: Token.Trigger,
  end: Token.End,
};

function isIdChar(code: number): boolean {
  return (
    (code >= 0x30 && code <= 0x39) || // 0-9
    (code >= 0x41 && code <= 0x5a) || // A-Z
    (code >= 0x61 && code <= 0x7a) || // a-z
    code === 0x5f || // _
    code === 0x24 || // $
    code >= 0x80
  );
}

/** The statements of a script, without empty ones (only spaces, comments or semicolons). */
export function splitStatements(sql: string): ScriptStatement[] {
  const statements: ScriptStatement[] = [];
  let state: State = State.Invalid;
  let start = -1; // where the current statement's first token begins
  let line = 1;
  let startLine = 1;
  let i = 0;
  const n = sql.length;

  const push = (end: number) => {
    if (start >= 0) statements.push({ text: sql.slice(start, end), line: startLine });
    start = -1;
  };

  while (i < n) {
    const c = sql.charCodeAt(i);
    const from = i;
    let token: Token;
    if (c === 0x3b) {
      token = Token.Semi;
      i++;
    } else if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0c) {
      token = Token.Space;
      i++;
    } else if (c === 0x2f && sql.charCodeAt(i + 1) === 0x2a) {
      const close = sql.indexOf('*/', i + 2);
      i = close < 0 ? n : close + 2;
      token = Token.Space;
    } else if (c === 0x2d && sql.charCodeAt(i + 1) === 0x2d) {
      const eol = sql.indexOf('\n', i + 2);
      i = eol < 0 ? n : eol;
      token = Token.Space;
    } else if (c === 0x5b) {
      const close = sql.indexOf(']', i + 1);
      i = close < 0 ? n : close + 1;
      token = Token.Other;
    } else if (c === 0x60 || c === 0x22 || c === 0x27) {
      // A doubled quote ends this string and starts another: the same statement either way.
      const close = sql.indexOf(sql[i]!, i + 1);
      i = close < 0 ? n : close + 1;
      token = Token.Other;
    } else if (isIdChar(c)) {
      while (i < n && isIdChar(sql.charCodeAt(i))) i++;
      token = KEYWORDS[sql.slice(from, i).toLowerCase()] ?? Token.Other;
    } else {
      token = Token.Other;
      i++;
    }
    for (let k = from; k < i; k++) if (sql.charCodeAt(k) === 0x0a) line++;
    if (token !== Token.Space && token !== Token.Semi && start < 0) {
      start = from;
      startLine = line - countNewlines(sql, from, i);
    }
    state = TRANSITIONS[state]![token]!;
    if (token === Token.Semi && state === State.Start) push(i);
  }
  push(n);
  return statements;
}

function countNewlines(text: string, from: number, to: number): number {
  let count = 0;
  for (let k = from; k < to; k++) if (text.charCodeAt(k) === 0x0a) count++;
  return count;
}
