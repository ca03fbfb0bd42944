import { accessSync, closeSync, constants, createWriteStream, existsSync, openSync, renameSync, rmSync, statSync, writeSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { TaskInputError } from '../../shared/task-errors.js';
import { fileError } from '../../shared/file-errors.js';
import { createFolderOf } from '../../shared/output-folder.js';

/**
 * A file written under a temporary name beside its target and renamed into place only when
 * complete, so that a cancelled or failed task never leaves half a file under the real name.
 * A thread ended mid-write leaves `<target>.partial`, which the next run replaces.
 */
export class OutputFile {
  readonly partialPath: string;
  bytes = 0;
  private fd: number | null;

  private constructor(
    readonly path: string,
    private readonly overwrite: boolean,
    streamed: boolean,
  ) {
    this.partialPath = `${path}.partial`;
    try {
      this.fd = streamed ? null : openSync(this.partialPath, 'w');
    } catch (error) {
      throw fileError(error, path);
    }
  }

  /**
   * Checks the target before anything is written: its folder exists (missing folders are
   * created, as with every kind that writes a file), it is not a folder, and it may be replaced.
   */
  static check(path: string, options: { overwrite: boolean }): void {
    createFolderOf(path);
    const folder = statSync(dirname(path), { throwIfNoEntry: false });
    if (!folder?.isDirectory()) throw new TaskInputError(`the folder of ${path} is not a directory`, 'ENOTDIR');
    try {
      accessSync(dirname(path), constants.W_OK);
    } catch {
      throw new TaskInputError(`${path}: permission denied (its folder is not writable)`, 'EACCES');
    }
    const existing = statSync(path, { throwIfNoEntry: false });
    if (existing?.isDirectory()) throw new TaskInputError(`${path} is a directory; expected a file path`, 'EISDIR');
    if (existing && !options.overwrite) throw new TaskInputError(`${path} already exists; set overwrite: true to replace it`, 'EEXIST');
  }

  /** For synchronous writes with `write`. */
  static open(path: string, options: { overwrite: boolean }): OutputFile {
    OutputFile.check(path, options);
    return new OutputFile(path, options.overwrite, false);
  }

  /** For a stream to write: `sink` owns the partial file until the stream ends; then commit or discard. */
  static streamed(path: string, options: { overwrite: boolean }): { output: OutputFile; sink: WriteStream } {
    OutputFile.check(path, options);
    const output = new OutputFile(path, options.overwrite, true);
    return { output, sink: createWriteStream(output.partialPath) };
  }

  write(data: string | Buffer): void {
    const buffer = typeof data === 'string' ? Buffer.from(data) : data;
    let offset = 0;
    try {
      while (offset < buffer.length) offset += writeSync(this.fd!, buffer, offset, buffer.length - offset);
    } catch (error) {
      throw fileError(error, this.path);
    }
    this.bytes += buffer.length;
  }

  /** Closes the file and gives it its real name. */
  commit(): void {
    this.close();
    if (!this.overwrite && existsSync(this.path)) {
      rmSync(this.partialPath, { force: true });
      throw new TaskInputError(`${this.path} appeared while it was being written; set overwrite: true to replace it`, 'EEXIST');
    }
    try {
      renameSync(this.partialPath, this.path);
    } catch (error) {
      rmSync(this.partialPath, { force: true });
      throw fileError(error, this.path);
    }
  }

  /** Closes and removes the partial file (after a cancel or a failure). */
  discard(): void {
    this.close();
    rmSync(this.partialPath, { force: true });
  }

  private close(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    closeSync(fd);
  }
}
