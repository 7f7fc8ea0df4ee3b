/**
 * Node-only: puts a WrittenModel on disk, chunk by chunk, never leaving a half-written output behind
 * (everything goes to a temporary name beside the target and is renamed into place at the end).
 *
 *  - .mlpackage model: `X.mlpackage` → a folder; `X.zip` → a store-only zip with the package folder at its root.
 *  - .mlmodel / .onnx: the model file at outPath, any other files (ONNX external data) beside it;
 *    `X.zip` → all files in one zip.
 *  - outPath an existing folder (or ending in '/'): the model's own name inside it.
 */
import { closeSync, existsSync, openSync, statSync, writeSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ShrinkrayError } from '../core/errors';
import type { OutputFile, WrittenModel } from '../core/model/types';
import type { OutputSink, SinkFile, StreamedModel } from '../core/engine/stream';
import { safeEntryPath, zipFiles } from '../core/io/zip';
import { fileSource } from './fs-tree';

export interface WriteResult {
  /** what was written (a file or a folder) */
  path: string;
  /** total bytes written */
  bytes: number;
  /** every path created, the main one first */
  paths: string[];
}

function tempName(path: string): string {
  return join(dirname(path), `.${basename(path)}.partial-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
}

/** Streams chunks into a new file; throws if the byte count differs from `size`. */
async function writeStream(path: string, chunks: AsyncIterable<Uint8Array>, size: number | undefined, label: string, signal?: AbortSignal): Promise<number> {
  const fh = await open(path, 'wx');
  let n = 0;
  try {
    for await (const c of chunks) {
      if (signal?.aborted) throw new ShrinkrayError('cancelled', `writing ${label} cancelled`, label);
      let off = 0;
      while (off < c.length) {
        const { bytesWritten } = await fh.write(c, off, c.length - off);
        off += bytesWritten;
      }
      n += c.length;
    }
  } finally {
    await fh.close();
  }
  if (size !== undefined && n !== size) {
    throw new ShrinkrayError('internal', `${label}: wrote ${n} bytes, expected ${size}`, label);
  }
  return n;
}

/** Renames tmp → dest, replacing what is there (a folder is moved aside first and removed after). */
async function replace(tmp: string, dest: string): Promise<void> {
  if (existsSync(dest) && statSync(dest).isDirectory()) {
    const old = tempName(dest) + '.old';
    await rename(dest, old);
    try {
      await rename(tmp, dest);
    } catch (e) {
      await rename(old, dest);
      throw e;
    }
    await rm(old, { recursive: true, force: true });
  } else {
    await rename(tmp, dest);
  }
}

function relPath(f: OutputFile, label: string): string {
  const p = safeEntryPath(f.path, label);
  if (p === undefined) throw new ShrinkrayError('internal', `${label}: output file with an empty path`, label);
  return p;
}

async function writeFolder(files: OutputFile[], dest: string, signal?: AbortSignal): Promise<number> {
  const tmp = tempName(dest);
  let total = 0;
  try {
    await mkdir(tmp);
    for (const f of files) {
      const rel = relPath(f, basename(dest));
      const p = join(tmp, ...rel.split('/'));
      await mkdir(dirname(p), { recursive: true });
      total += await writeStream(p, f.chunks(), f.size, rel, signal);
    }
    await replace(tmp, dest);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return total;
}

async function writeFile(chunks: AsyncIterable<Uint8Array>, size: number | undefined, dest: string, signal?: AbortSignal): Promise<number> {
  const tmp = tempName(dest);
  try {
    const n = await writeStream(tmp, chunks, size, basename(dest), signal);
    await replace(tmp, dest);
    return n;
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

function isModelFile(p: string): boolean {
  return /\.(onnx|mlmodel)$/i.test(p);
}

/** The path written for `outPath`: inside it under the model's own `name` when it is a folder; its folder must exist. */
function outputPath(outPath: string, name: string): string {
  let out = outPath;
  if (out.endsWith('/') || (existsSync(out) && statSync(out).isDirectory() && !/\.mlpackage$/i.test(out))) {
    out = join(out, name);
  }
  const parent = dirname(out);
  if (!existsSync(parent)) {
    throw new ShrinkrayError('invalid-option', `cannot write ${out}: folder ${parent} does not exist`, out);
  }
  return out;
}

/** The folder at the root of a zipped .mlpackage: named after the zip, ending in .mlpackage. */
function packageZipRoot(out: string): string {
  const root = basename(out).replace(/\.zip$/i, '');
  return /\.mlpackage$/i.test(root) ? root : `${root}.mlpackage`;
}

/** `signal`: checked between chunks; an abort removes what was written so far ('cancelled'). */
export async function writeOutput(model: WrittenModel, outPath: string, signal?: AbortSignal): Promise<WriteResult> {
  const out = outputPath(outPath, model.name);
  const lower = out.toLowerCase();
  const parent = dirname(out);

  if (lower.endsWith('.zip')) {
    // an .mlpackage zips with its folder at the root (named after the zip); other models zip flat
    const z = zipFiles(model.files, model.format === 'mlpackage' ? packageZipRoot(out) : undefined);
    const bytes = await writeFile(z.chunks(), z.size, out, signal);
    return { path: out, bytes, paths: [out] };
  }

  if (model.format === 'mlpackage') {
    if (!lower.endsWith('.mlpackage')) {
      throw new ShrinkrayError('invalid-option', `${out}: an .mlpackage is written as a folder ending in .mlpackage or as a .zip`, out);
    }
    const bytes = await writeFolder(model.files, out, signal);
    return { path: out, bytes, paths: [out] };
  }

  const ext = model.format === 'onnx' ? '.onnx' : '.mlmodel';
  if (!lower.endsWith(ext)) {
    throw new ShrinkrayError('invalid-option', `${out}: a ${model.format === 'onnx' ? 'ONNX' : 'Core ML .mlmodel'} output must end in ${ext} or .zip`, out);
  }
  const main = model.files.find((f) => isModelFile(f.path)) ?? model.files[0];
  if (!main) throw new ShrinkrayError('internal', `${model.name}: the writer produced no files`, model.name);
  // Sibling files (external data) keep their names: the model refers to them by name. Every file goes to a
  // temporary name first and all are renamed at the end, so that no input file is replaced while the
  // writer may still be reading it.
  const targets = model.files.map((f) => (f === main ? out : join(parent, ...relPath(f, model.name).split('/'))));
  if (new Set(targets).size !== targets.length) {
    throw new ShrinkrayError('invalid-option', `${out}: would overwrite one of the model's own data files`, out);
  }
  const temps: string[] = [];
  let bytes = 0;
  try {
    for (let i = 0; i < model.files.length; i++) {
      const f = model.files[i];
      await mkdir(dirname(targets[i]), { recursive: true });
      const tmp = tempName(targets[i]);
      temps.push(tmp);
      bytes += await writeStream(tmp, f.chunks(), f.size, f.path, signal);
    }
    for (let i = 0; i < targets.length; i++) await replace(temps[i], targets[i]);
  } catch (e) {
    for (const t of temps) await rm(t, { force: true });
    throw e;
  }
  return { path: out, bytes, paths: [out, ...targets.filter((t) => t !== out)] };
}

/**
 * A sink for the streaming runner: new files under `dir` (folders created as needed). Writes are synchronous: the
 * runner awaits each one anyway, and a thread-pool round trip per chunk only adds latency on a busy machine.
 */
export function folderSink(dir: string, signal?: AbortSignal): OutputSink {
  return {
    async open(path: string): Promise<SinkFile> {
      const rel = safeEntryPath(path, basename(dir));
      if (rel === undefined) throw new ShrinkrayError('internal', `${basename(dir)}: output file with an empty path`, basename(dir));
      const p = join(dir, ...rel.split('/'));
      await mkdir(dirname(p), { recursive: true });
      const fd = openSync(p, 'wx');
      const put = (b: Uint8Array, at?: number) => {
        let off = 0;
        while (off < b.length) off += writeSync(fd, b, off, b.length - off, at === undefined ? null : at + off);
      };
      return {
        async write(c) {
          if (signal?.aborted) throw new ShrinkrayError('cancelled', `writing ${rel} cancelled`, rel);
          put(c);
        },
        async patch(offset, b) {
          put(b, offset);
        },
        async close() {
          closeSync(fd);
        },
      };
    },
  };
}

/**
 * The streaming counterpart of writeOutput for an .mlpackage: `produce` writes the package into a temporary folder
 * beside the target (weight by weight, see src/core/engine/stream.ts), which is then renamed into place, or, for
 * `X.zip`, zipped (entries in writeCoreML's file order) and removed. `name`: the package's own name, used when
 * outPath is a folder.
 */
export async function writeStreamedOutput(
  name: string,
  outPath: string,
  produce: (sink: OutputSink) => Promise<StreamedModel>,
  signal?: AbortSignal,
): Promise<WriteResult> {
  const out = outputPath(outPath, name);
  const lower = out.toLowerCase();
  const zip = lower.endsWith('.zip');
  if (!zip && !lower.endsWith('.mlpackage')) {
    throw new ShrinkrayError('invalid-option', `${out}: an .mlpackage is written as a folder ending in .mlpackage or as a .zip`, out);
  }
  const tmp = tempName(out) + (zip ? '.mlpackage' : '');
  try {
    await mkdir(tmp);
    const model = await produce(folderSink(tmp, signal));
    if (!zip) {
      await replace(tmp, out);
      return { path: out, bytes: model.files.reduce((s, f) => s + f.size, 0), paths: [out] };
    }
    const files: OutputFile[] = model.files.map((f) => {
      const src = fileSource(join(tmp, ...f.path.split('/')), f.path);
      const piece = 8 << 20;
      return {
        path: f.path,
        size: src.size,
        async *chunks() {
          for (let o = 0; o < src.size; o += piece) yield await src.read(o, Math.min(piece, src.size - o));
        },
      };
    });
    const z = zipFiles(files, packageZipRoot(out));
    const bytes = await writeFile(z.chunks(), z.size, out, signal);
    await rm(tmp, { recursive: true, force: true });
    return { path: out, bytes, paths: [out] };
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}
