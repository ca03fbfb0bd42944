#!/usr/bin/env node
// Writes the sample data the examples/ job files (and the benchmarks) run on: a SQLite database
// with one big table, CSV files (good, ragged, empty) and a tree of text and binary files.
// Deterministic: the same options give the same bytes.
//
//   npm run demo:data                                   # into examples/data
//   npm run demo:data -- --rows 1000000 --mb 200 --out /tmp/big
import Database from 'better-sqlite3';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const MAX_ROWS = 1_000_000;
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const USAGE = `usage: generate-demo-data [--out DIR] [--rows N] [--files N] [--mb M] [--seed S]
  --out DIR   where to write (default: examples/data in the project)
  --rows N    rows of the big "orders" table, 1 to ${MAX_ROWS} (default 100000)
  --files N   files in the file tree (default 120)
  --mb M      total size of the file tree in MB (default 20)
  --seed S    seed of the generator (default 1)`;

function fail(message) {
  process.stderr.write(`generate-demo-data: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function wholeNumber(name, text, min, max) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) fail(`--${name} must be a whole number from ${min} to ${max} (got "${text}")`);
  return n;
}

let args;
try {
  args = parseArgs({
    options: {
      out: { type: 'string' },
      rows: { type: 'string', default: '100000' },
      files: { type: 'string', default: '120' },
      mb: { type: 'string', default: '20' },
      seed: { type: 'string', default: '1' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  }).values;
} catch (error) {
  fail(error.message);
}
if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const options = {
  out: args.out ? resolve(args.out) : join(repoRoot, 'examples', 'data'),
  rows: wholeNumber('rows', args.rows, 1, MAX_ROWS),
  files: wholeNumber('files', args.files, 1, 100_000),
  mb: wholeNumber('mb', args.mb, 0, 100_000),
  seed: wholeNumber('seed', args.seed, 0, 2 ** 31 - 1),
};

/** mulberry32: a small, fast, seedable generator (uniform in [0, 1)). */
function generator(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: (list) => list[Math.floor(next() * list.length)],
    chance: (p) => next() < p,
    bytes(n) {
      const buffer = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i += 4) {
        const word = Math.floor(next() * 4294967296);
        for (let k = 0; k < 4 && i + k < n; k++) buffer[i + k] = (word >>> (8 * k)) & 0xff;
      }
      return buffer;
    },
  };
}

const random = generator(options.seed);

const FIRST = ['Ada', 'Alan', 'Grace', 'Linus', 'Barbara', 'Ken', 'Margaret', 'Dennis', 'Frances', 'Edsger', 'Radia', 'Tim', 'Sophie', 'Niklaus', 'Hedy', 'Donald'];
const LAST = ['Lovelace', 'Turing', 'Hopper', 'Torvalds', 'Liskov', 'Thompson', 'Hamilton', 'Ritchie', 'Allen', 'Dijkstra', 'Perlman', 'Berners-Lee', 'Wilson', 'Wirth', 'Lamarr', 'Knuth'];
const COUNTRIES = ['Brazil', 'Canada', 'France', 'Germany', 'India', 'Japan', 'Kenya', 'Norway', 'Portugal', 'USA'];
const CATEGORIES = ['books', 'music', 'garden', 'kitchen', 'tools', 'toys', 'sports', 'office'];
const WORDS = ('the quick brown fox jumps over lazy dog thread pool event loop worker cancel queue task job timeline ' +
  'memory sqlite query index page cache commit rollback journal stream chunk buffer hash digest compress ' +
  'error warning info debug request response latency throughput batch schedule retry timeout').split(' ');
const NOTES = ['gift wrap', 'leave at the door', 'call before delivery', 'fragile, handle with care', 'second "express" attempt', 'invoice\nattached', ''];

function sentence(words) {
  let text = '';
  for (let i = 0; i < words; i++) text += (i ? ' ' : '') + random.pick(WORDS);
  return text;
}

function isoDate(dayOffset) {
  return new Date(Date.UTC(2024, 0, 1) + dayOffset * 86_400_000 + random.int(0, 86_399) * 1000).toISOString().slice(0, 19).replace('T', ' ');
}

function writeDatabase(file) {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec(`
    CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL, country TEXT, created_at TEXT NOT NULL);
    CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL, category TEXT NOT NULL, price REAL NOT NULL, thumbnail BLOB);
    CREATE TABLE orders (
      id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id), product_id INTEGER NOT NULL REFERENCES products(id),
      quantity INTEGER NOT NULL, unit_price REAL NOT NULL, discount REAL, note TEXT, ordered_at TEXT NOT NULL);`);
  const customers = Math.max(10, Math.min(50_000, Math.ceil(options.rows / 20)));
  const products = 500;
  db.transaction(() => {
    const customer = db.prepare('INSERT INTO customers VALUES (?, ?, ?, ?, ?)');
    for (let id = 1; id <= customers; id++) {
      const first = random.pick(FIRST);
      const last = random.pick(LAST);
      customer.run(id, `${first} ${last}`, `${first}.${last}${id}@example.com`.toLowerCase(), random.chance(0.05) ? null : random.pick(COUNTRIES), isoDate(random.int(0, 365)));
    }
    const product = db.prepare('INSERT INTO products VALUES (?, ?, ?, ?, ?)');
    for (let id = 1; id <= products; id++) {
      const price = Math.round(random.next() * 20_000) / 100 + 0.99;
      product.run(id, `${random.pick(WORDS)} ${random.pick(WORDS)} ${id}`, random.pick(CATEGORIES), price, random.chance(0.3) ? null : random.bytes(random.int(4, 24)));
    }
    const order = db.prepare('INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    for (let id = 1; id <= options.rows; id++) {
      order.run(
        id,
        random.int(1, customers),
        random.int(1, products),
        random.int(1, 12),
        Math.round(random.next() * 50_000) / 100,
        random.chance(0.2) ? Math.round(random.next() * 30) / 100 : null,
        random.chance(0.1) ? random.pick(NOTES) : null,
        isoDate(random.int(0, 700)),
      );
    }
  })();
  db.exec('CREATE INDEX orders_by_customer ON orders(customer_id)');
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.pragma('journal_mode = DELETE');
  db.close();
  return { customers, products, orders: options.rows };
}

function csvField(value) {
  const text = value === null ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function writeCsvFiles(folder) {
  mkdirSync(folder, { recursive: true });
  const rows = Math.min(options.rows, 200_000);
  let good = 'id,name,city,score,joined,comment\r\n';
  for (let id = 1; id <= rows; id++) {
    const comment = random.chance(0.1) ? `said "${sentence(3)}", then left` : random.chance(0.05) ? '' : sentence(random.int(1, 6));
    good += [id, `${random.pick(FIRST)} ${random.pick(LAST)}`, random.pick(COUNTRIES), (random.next() * 100).toFixed(2), isoDate(random.int(0, 900)).slice(0, 10), comment].map(csvField).join(',') + '\r\n';
  }
  writeFileSync(join(folder, 'people.csv'), good);
  // A record that lost a field on line 4 (the header is line 1).
  writeFileSync(join(folder, 'ragged.csv'), 'id,name,score\n1,Ada,90\n2,Alan,85\n3,Grace\n4,Linus,70\n');
  writeFileSync(join(folder, 'empty.csv'), '');
  return { 'people.csv': rows, 'ragged.csv': 4, 'empty.csv': 0 };
}

function writeFileTree(folder) {
  const totalBytes = options.mb * 1_000_000;
  // Mixed sizes: a few big files, many small ones (weights from a skewed draw).
  const weights = Array.from({ length: options.files }, () => random.next() ** 4 + 0.001);
  const weightSum = weights.reduce((a, b) => a + b, 0);
  const sections = ['logs', 'docs', 'docs/notes', 'data', 'data/raw', 'archive/2024', 'archive/2025'];
  let bytes = 0;
  for (let i = 0; i < options.files; i++) {
    const size = Math.round((weights[i] / weightSum) * totalBytes);
    const section = sections[i % sections.length];
    mkdirSync(join(folder, section), { recursive: true });
    const binary = section.startsWith('data') && i % 3 === 0;
    const name = join(folder, section, binary ? `blob-${i}.bin` : section === 'logs' ? `app-${i}.log` : `note-${i}.txt`);
    const content = binary ? random.bytes(size) : textOfSize(size, section === 'logs');
    writeFileSync(name, content);
    bytes += content.length;
  }
  return { files: options.files, bytes };
}

function textOfSize(size, log) {
  const parts = [];
  let length = 0;
  let line = 0;
  while (length < size) {
    const text = log
      ? `${isoDate(line++ % 400)} ${random.pick(['INFO', 'INFO', 'INFO', 'WARN', 'ERROR', 'DEBUG'])} ${sentence(random.int(4, 14))}\n`
      : `${sentence(random.int(6, 20))}${random.chance(0.1) ? '\n\n' : '\n'}`;
    parts.push(text);
    length += text.length;
  }
  return parts.join('').slice(0, size);
}

const started = Date.now();
mkdirSync(options.out, { recursive: true });
const dbFile = join(options.out, 'demo.sqlite');
for (const stale of [dbFile, `${dbFile}-wal`, `${dbFile}-shm`, `${dbFile}-journal`, join(options.out, 'csv'), join(options.out, 'files'), join(options.out, 'out')]) {
  rmSync(stale, { recursive: true, force: true });
}
const tables = writeDatabase(dbFile);
const csv = writeCsvFiles(join(options.out, 'csv'));
const tree = writeFileTree(join(options.out, 'files'));
// Where the example jobs write their results.
mkdirSync(join(options.out, 'out'), { recursive: true });
process.stdout.write(
  `wrote ${options.out} in ${((Date.now() - started) / 1000).toFixed(1)} s\n` +
    `  demo.sqlite: ${tables.customers} customers, ${tables.products} products, ${tables.orders} orders\n` +
    `  csv/: people.csv (${csv['people.csv']} rows), ragged.csv, empty.csv\n` +
    `  files/: ${tree.files} files, ${(tree.bytes / 1_000_000).toFixed(1)} MB\n`,
);
