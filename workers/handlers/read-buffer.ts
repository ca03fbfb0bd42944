/** Node's global WebAssembly, which the type library of a Node build (no DOM) leaves out: the part used here. */
declare const WebAssembly: { Memory: new (descriptor: { initial: number; maximum: number }) => { readonly buffer: ArrayBuffer } };

/** The bytes of a WebAssembly memory page: the unit a memory grows by. */
const WASM_PAGE = 65_536;

/**
 * A buffer of `bytes` for `readSync` that starts on a page boundary, or, where that cannot be had,
 * a plain one.
 *
 * A read copies from the page cache, whose pages start at file offsets that are multiples of the
 * page size. Some CPUs copy much slower when the destination sits a few bytes after the source's
 * place in its page (an AMD EPYC of the Zen 4 family here: reading 400 MB from the cache in 1 MiB
 * chunks took 34 ms of CPU into a page-aligned buffer, 57 ms into one 16 bytes into a page, 136
 * ms at 8 bytes), and 16 bytes into a page is where glibc's malloc puts a block it maps on pages
 * of its own, as a 1 MiB `Buffer` is until the process has freed a large block. Reads of whole
 * chunks from offset 0 into a page-aligned buffer keep both sides at the same place in their pages.
 *
 * A WebAssembly memory is the one allocation JavaScript can ask for that V8 maps on pages of its
 * own, so it starts on a page boundary. It reserves address space around it (about 10 GiB on
 * 64-bit Linux, none of it backed by memory); where that cannot be reserved (a process limited in
 * address space) the thread gets a plain buffer.
 */
export function pageAlignedBuffer(bytes: number): Buffer {
  const pages = Math.ceil(bytes / WASM_PAGE);
  try {
    return Buffer.from(new WebAssembly.Memory({ initial: pages, maximum: pages }).buffer, 0, bytes);
  } catch {
    return Buffer.allocUnsafe(bytes);
  }
}
