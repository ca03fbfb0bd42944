import { describe, expect, it } from 'vitest';
import { splitStatements } from '../../workers/handlers/sql-statements.js';

const texts = (sql: string) => splitStatements(sql).map((statement) => statement.text);

describe('splitting a SQL script into statements', () => {
  it('splits at semicolons outside strings, quoted names and comments', () => {
    expect(texts("SELECT 'a;b'; SELECT \"c;d\" FROM t; SELECT [e;f], `g;h`")).toEqual([
      "SELECT 'a;b';",
      'SELECT "c;d" FROM t;',
      'SELECT [e;f], `g;h`',
    ]);
    expect(texts("INSERT INTO t VALUES ('it''s;');SELECT 1")).toEqual(["INSERT INTO t VALUES ('it''s;');", 'SELECT 1']);
    expect(texts('SELECT 1 -- a comment; not a split\n; SELECT /* ; */ 2;')).toEqual(['SELECT 1 -- a comment; not a split\n;', 'SELECT /* ; */ 2;']);
  });

  it('keeps a CREATE TRIGGER body, with its semicolons, in one statement', () => {
    const trigger = 'CREATE TEMP TRIGGER tr AFTER INSERT ON a BEGIN\n  INSERT INTO b VALUES (1);\n  UPDATE c SET n = n + 1;\nEND;';
    expect(texts(`${trigger}\nINSERT INTO a VALUES (2);`)).toEqual([trigger, 'INSERT INTO a VALUES (2);']);
    const quoted = 'create trigger "end" after delete on a begin select 1; end;';
    expect(texts(`${quoted} select 2`)).toEqual([quoted, 'select 2']);
    // A table named "trigger" is not a trigger.
    expect(texts('CREATE TABLE "trigger"(x); SELECT 1;')).toEqual(['CREATE TABLE "trigger"(x);', 'SELECT 1;']);
  });

  it('drops empty statements and reports the line each statement starts on', () => {
    const statements = splitStatements('\n-- header\n;;\nSELECT 1;\n\n  /* two\nlines */ SELECT\n2;\n   ');
    expect(statements).toEqual([
      { text: 'SELECT 1;', line: 4 },
      { text: 'SELECT\n2;', line: 7 },
    ]);
    expect(splitStatements('-- only a comment')).toEqual([]);
    expect(splitStatements('')).toEqual([]);
  });

  it('passes an unfinished statement on whole, for SQLite to report', () => {
    expect(texts("SELECT 'unterminated; SELECT 2")).toEqual(["SELECT 'unterminated; SELECT 2"]);
    expect(texts('CREATE TRIGGER t AFTER INSERT ON a BEGIN SELECT 1;')).toEqual(['CREATE TRIGGER t AFTER INSERT ON a BEGIN SELECT 1;']);
  });
});
