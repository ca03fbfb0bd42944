/**
 * YAML text to a plain value, its nesting measured before anything recursive reads it. yaml's
 * parser (text to tokens) keeps its own stack, but composing tokens into nodes recurses once per
 * level of nesting on the calling thread: past about 750 levels of `[[[…]]]` the stack runs out
 * and yaml reports only "Maximum call stack size exceeded". The tokens are walked here with a
 * stack of our own first, so a document nested past the limit is refused by the path that leads
 * there, as JSON job text is, and is never composed.
 */
import { Composer, CST, isScalar, LineCounter, Parser, YAMLParseError, type Document } from 'yaml';
import { keySegment } from '../shared/nesting.js';

export type YamlRead = { ok: true; value: unknown } | { ok: false; tooDeepAt: string };

/**
 * Parses the one document of `text`. Errors and warnings (an unknown tag, say) are thrown, with
 * their line and column in `linePos`: a job file must mean one thing.
 */
export function readYamlStrictly(text: string, maxDepth: number): YamlRead {
  const lines = new LineCounter();
  const tokens = Array.from(new Parser(lines.addNewLine).parse(text));
  const deep = tooDeepInTokens(tokens, maxDepth);
  if (deep !== null) return { ok: false, tooDeepAt: deep };
  const document = firstDocument(tokens, text.length);
  const problem = document.errors[0] ?? document.warnings[0];
  if (problem) {
    if (problem.pos[0] !== -1) problem.linePos = [lines.linePos(problem.pos[0]), lines.linePos(problem.pos[1])];
    throw problem;
  }
  // An alias bomb is refused here, by yaml's count of how often each anchor is expanded.
  const value: unknown = document.toJS({ maxAliasCount: 100 });
  if (expandsPast(value, expansionLimit(text.length))) {
    throw new Error(`its aliases expand it to more than ${expansionLimit(text.length)} values and characters (twice its length, plus ${ALIAS_ALLOWANCE}); repeat less`);
  }
  return { ok: true, value };
}

/**
 * yaml's count allows each anchor 100 expansions, whatever its size: 800 KB of text whose anchor
 * of 400,000 values is expanded 99 times made a job of 40 million values, which took 29 s and
 * 1.9 GB to store. Without aliases, a document has fewer values and characters than its text has
 * characters; this much more leaves room for anchors reused a few times.
 */
const ALIAS_ALLOWANCE = 1_000_000;

function expansionLimit(textLength: number): number {
  return 2 * textLength + ALIAS_ALLOWANCE;
}

/** Whether the value, shared parts counted each time they appear, holds more than `limit` values and characters; stops there. */
function expandsPast(value: unknown, limit: number): boolean {
  let weight = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    weight += typeof item === 'string' ? 1 + item.length : 1;
    if (Array.isArray(item)) {
      for (const element of item) stack.push(element);
    } else if (typeof item === 'object' && item !== null) {
      for (const [key, element] of Object.entries(item)) {
        weight += key.length;
        stack.push(element);
      }
    }
    if (weight > limit) return true;
  }
  return false;
}

/**
 * The file's one document. A second one with anything in it is refused, by where it begins: it
 * would otherwise be read and dropped without a word, and a job file must mean one thing. (A
 * `---` with nothing but comments after it starts an empty document, which is let be.)
 */
function firstDocument(tokens: CST.Token[], length: number): Document.Parsed {
  let first: Document.Parsed | null = null;
  for (const document of new Composer({ logLevel: 'silent', uniqueKeys: true }).compose(tokens, true, length)) {
    if (first === null) first = document;
    else if (!isEmpty(document)) {
      first.errors.push(new YAMLParseError([document.range[0], document.range[0] + 1], 'MULTIPLE_DOCS', 'a second YAML document begins here; a job file holds one'));
      break;
    }
  }
  return first!;
}

/** A document with nothing in it but comments: the one a closing `---` starts, whose node spans no text. */
function isEmpty(document: Document.Parsed): boolean {
  const contents = document.contents;
  return contents === null || (isScalar(contents) && contents.range !== undefined && contents.range !== null && contents.range[0] === contents.range[1]);
}

/** A pair in a flow sequence (`[a: 1]`), which becomes a map of its own. */
interface FlowPair {
  type: 'flow-pair';
  item: CST.CollectionItem;
}

interface Pending {
  node: CST.Token | FlowPair;
  /** Levels of arrays and objects down to and including this node, if it is a collection. */
  depth: number;
  /** The keys that lead to it; only the first five are kept, as `tooDeepAt` shows no more. */
  path: string[];
}

/**
 * Where the tokens nest collections more than `max` deep, as `tooDeepAt` shows the path in the
 * value they make (`.tasks[0].value[0]`), or null. Counts what becomes an array or object: a pair
 * in a flow sequence is a map of its own. A collection used as a key (`? [a]`) becomes a string,
 * but composing it recurses all the same: it counts too, shown as `[?]`. An alias adds nothing
 * here; what it nests is checked in the value, whose every node was composed within the limit.
 */
export function tooDeepInTokens(tokens: CST.Token[], max: number): string | null {
  const stack: Pending[] = [];
  for (let i = tokens.length - 1; i >= 0; i--) {
    const token = tokens[i]!;
    if (token.type === 'document' && token.value) stack.push({ node: token.value, depth: 1, path: [] });
  }
  while (stack.length > 0) {
    const { node, depth, path } = stack.pop()!;
    if (node.type !== 'flow-pair' && !CST.isCollection(node)) continue;
    if (depth > max) return path.join('');
    const children: Pending[] = [];
    const items = node.type === 'flow-pair' ? [node.item] : node.items;
    const flowSequence = node.type === 'flow-collection' && node.start.source === '[';
    items.forEach((item, index) => {
      if (node.type === 'block-seq' || flowSequence) {
        const at = extend(path, `[${index}]`);
        const pair = flowSequence && (item.sep !== undefined || item.start.some((part) => part.type === 'explicit-key-ind'));
        if (pair) children.push({ node: { type: 'flow-pair', item }, depth: depth + 1, path: at });
        else if (item.value) children.push({ node: item.value, depth: depth + 1, path: at });
        return;
      }
      if (item.key) children.push({ node: item.key, depth: depth + 1, path: extend(path, '[?]') });
      if (item.value) children.push({ node: item.value, depth: depth + 1, path: extend(path, segmentOf(item.key)) });
    });
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
  return null;
}

function extend(path: string[], segment: string): string[] {
  return path.length < 5 ? [...path, segment] : path;
}

/** The key's text as the value's object will have it: a scalar's own text, an alias by its name. */
function segmentOf(key: CST.Token | null | undefined): string {
  if (!key) return keySegment('');
  if (key.type === 'alias') return `[${key.source}]`;
  if (CST.isCollection(key)) return '[?]';
  return keySegment(CST.resolveAsScalar(key)?.value ?? '');
}
