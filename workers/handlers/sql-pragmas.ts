/**
 * Which PRAGMA statements only read. SQLite applies many pragmas while it prepares them
 * (`PRAGMA busy_timeout = 0` has changed the connection before the statement ever runs, and
 * `sqlite3_stmt_readonly` calls `PRAGMA locking_mode = EXCLUSIVE` read-only), so the statement's
 * text decides, before anything is prepared.
 */

/** A pragma statement as written: its name (unquoted, lower case) and how it was given an argument. */
export interface PragmaStatement {
  name: string;
  /** `none`: `PRAGMA name`; `call`: `PRAGMA name(arg)`; `assign`: `PRAGMA name = arg`, or anything else after the name. */
  argument: 'none' | 'call' | 'assign';
}

/** Pragmas whose bare form (`PRAGMA name`) reports a setting or a fact and changes nothing. */
const READS_BARE = new Set([
  'analysis_limit', 'application_id', 'auto_vacuum', 'automatic_index', 'busy_timeout', 'cache_size', 'cache_spill',
  'cell_size_check', 'checkpoint_fullfsync', 'collation_list', 'compile_options', 'data_version', 'database_list',
  'defer_foreign_keys', 'encoding', 'foreign_key_check', 'foreign_keys', 'freelist_count', 'fullfsync', 'function_list',
  'hard_heap_limit', 'ignore_check_constraints', 'integrity_check', 'journal_mode', 'journal_size_limit',
  'legacy_alter_table', 'locking_mode', 'max_page_count', 'mmap_size', 'module_list', 'page_count', 'page_size',
  'pragma_list', 'query_only', 'quick_check', 'read_uncommitted', 'recursive_triggers', 'reverse_unordered_selects',
  'schema_version', 'secure_delete', 'soft_heap_limit', 'synchronous', 'table_list', 'temp_store', 'threads',
  'trusted_schema', 'user_version', 'wal_autocheckpoint', 'writable_schema',
]);

/** Pragmas whose argument names what to read about (a table, an index) or bounds the report: `PRAGMA table_info(t)`. */
const READS_WITH_ARGUMENT = new Set([
  'foreign_key_check', 'foreign_key_list', 'index_info', 'index_list', 'index_xinfo', 'integrity_check', 'quick_check',
  'table_info', 'table_list', 'table_xinfo',
]);

/** Whether this pragma statement only reads. */
export function pragmaReads(pragma: PragmaStatement): boolean {
  if (pragma.argument === 'none') return READS_BARE.has(pragma.name) || READS_WITH_ARGUMENT.has(pragma.name);
  return pragma.argument === 'call' && READS_WITH_ARGUMENT.has(pragma.name);
}

/**
 * The pragma a statement runs, or null when it is no pragma. Looks past comments and an
 * `EXPLAIN` (SQLite prepares the pragma under it all the same).
 */
export function pragmaOf(sql: string): PragmaStatement | null {
  const tokens = new Tokens(sql);
  let word = tokens.next();
  if (word?.toLowerCase() === 'explain') {
    word = tokens.next();
    if (word?.toLowerCase() === 'query') {
      tokens.next(); // PLAN
      word = tokens.next();
    }
  }
  if (word?.toLowerCase() !== 'pragma') return null;
  let name = tokens.next();
  let after = tokens.next();
  if (after === '.') {
    name = tokens.next();
    after = tokens.next();
  }
  const pragma = { name: unquote(name ?? '').toLowerCase() };
  // What follows a `;` is another statement, which is not prepared with this one.
  if (after === null || after === ';') return { ...pragma, argument: 'none' };
  if (after === '(') {
    tokens.next(); // the argument
    if (tokens.next() === ')') {
      const end = tokens.next();
      if (end === null || end === ';') return { ...pragma, argument: 'call' };
    }
  }
  return { ...pragma, argument: 'assign' };
}

function unquote(name: string): string {
  const first = name[0];
  if (first === '[') return name.slice(1, -1);
  if (first === '"' || first === '`' || first === "'") return name.slice(1, -1).replaceAll(`${first}${first}`, first);
  return name;
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

function isIdChar(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || code === 0x5f || code === 0x24 || code >= 0x80;
}

/** SQLite's tokens, as far as a pragma needs them: names, quoted names and strings, numbers, single characters. */
class Tokens {
  private at = 0;

  constructor(private readonly sql: string) {}

  /** The next token's text, or null at the end. Spaces and comments are skipped. */
  next(): string | null {
    const sql = this.sql;
    this.skipSpace();
    if (this.at >= sql.length) return null;
    const from = this.at;
    const c = sql.charCodeAt(from);
    if (c === 0x5b) {
      const close = sql.indexOf(']', from + 1);
      this.at = close < 0 ? sql.length : close + 1;
    } else if (c === 0x60 || c === 0x22 || c === 0x27) {
      let i = from + 1;
      for (;;) {
        const close = sql.indexOf(sql[from]!, i);
        if (close < 0) {
          i = sql.length;
          break;
        }
        // A doubled quote is a quote inside the name.
        if (sql[close + 1] === sql[from]) i = close + 2;
        else {
          i = close + 1;
          break;
        }
      }
      this.at = i;
    } else if (isDigit(c) || ((c === 0x2d || c === 0x2b) && isDigit(sql.charCodeAt(from + 1)))) {
      // A number, its sign glued to it as in `= -1`.
      this.at++;
      while (this.at < sql.length && (isIdChar(sql.charCodeAt(this.at)) || sql[this.at] === '.')) this.at++;
    } else if (isIdChar(c)) {
      while (this.at < sql.length && isIdChar(sql.charCodeAt(this.at))) this.at++;
    } else this.at++;
    return sql.slice(from, this.at);
  }

  private skipSpace(): void {
    const sql = this.sql;
    while (this.at < sql.length) {
      const c = sql.charCodeAt(this.at);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0c) this.at++;
      else if (c === 0x2d && sql.charCodeAt(this.at + 1) === 0x2d) {
        const eol = sql.indexOf('\n', this.at + 2);
        this.at = eol < 0 ? sql.length : eol + 1;
      } else if (c === 0x2f && sql.charCodeAt(this.at + 1) === 0x2a) {
        const close = sql.indexOf('*/', this.at + 2);
        this.at = close < 0 ? sql.length : close + 2;
      } else return;
    }
  }
}
