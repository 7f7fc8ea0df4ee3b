/** .mlpackage Manifest.json (formats.md §2.2): parse and validate, and write. */
import { ShrinkrayError } from '../../errors';
import type { FileTree } from '../../io/source';
import type { OutputFile } from '../../model/types';

export interface ManifestEntry {
  path: string;
  name: string;
  author: string;
  description: string;
}

export interface Manifest {
  fileFormatVersion: string;
  itemInfoEntries: Record<string, ManifestEntry>;
  rootModelIdentifier: string;
}

/** Line (1-based) of a character offset, for JSON error messages. */
function lineOf(text: string, at: number): number {
  let line = 1;
  for (let i = 0; i < at && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

function jsonError(text: string, e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  const m = /position (\d+)/.exec(msg);
  if (/Unexpected end of JSON input/i.test(msg) || (m && Number(m[1]) >= text.trimEnd().length)) {
    return `unexpected end of input at line ${lineOf(text, text.length)}`;
  }
  if (m) return `${msg.replace(/^.*?: /, '')} (line ${lineOf(text, Number(m[1]))})`;
  return msg;
}

export async function readManifest(tree: FileTree): Promise<{ manifest: Manifest; rootPath: string }> {
  const name = `${tree.name}/Manifest.json`;
  const src = tree.get('Manifest.json');
  if (!src) throw new ShrinkrayError('manifest-missing', `${tree.name}: not an .mlpackage: Manifest.json missing`, name);
  if (src.size > 16 << 20) throw new ShrinkrayError('manifest-invalid', `${name} is ${src.size} bytes: too large for a manifest`, name);
  const text = new TextDecoder().decode(await src.read(0, src.size));
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    throw new ShrinkrayError('manifest-invalid', `${name}: Manifest.json is not valid JSON: ${jsonError(text, e)}`, name);
  }
  const bad = (what: string) => new ShrinkrayError('manifest-invalid', `${name}: invalid Manifest.json: ${what}`, name);
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw bad('not a JSON object');
  const m = obj as Record<string, unknown>;
  const ver = m.fileFormatVersion;
  if (typeof ver !== 'string') throw bad('fileFormatVersion missing');
  const parts = /^(\d+)\.(\d+)\.(\d+)$/.exec(ver);
  if (!parts) throw bad(`fileFormatVersion "${ver}" is not major.minor.patch`);
  const [maj, min, pat] = parts.slice(1).map(Number);
  if (maj > 1 || (maj === 1 && (min > 0 || pat > 0))) throw bad(`fileFormatVersion ${ver} is newer than 1.0.0`);
  const entries = m.itemInfoEntries;
  if (!entries || typeof entries !== 'object' || Array.isArray(entries)) throw bad('itemInfoEntries missing');
  for (const [id, e] of Object.entries(entries as Record<string, unknown>)) {
    if (!e || typeof e !== 'object') throw bad(`item ${id} is not an object`);
    for (const k of ['path', 'name', 'author', 'description']) {
      if (typeof (e as Record<string, unknown>)[k] !== 'string') throw bad(`item ${id} has no "${k}"`);
    }
  }
  const rootId = m.rootModelIdentifier;
  if (typeof rootId !== 'string') throw bad('rootModelIdentifier missing');
  const root = (entries as Record<string, ManifestEntry>)[rootId];
  if (!root) throw bad(`rootModelIdentifier ${rootId} is not in itemInfoEntries`);
  const rootPath = `Data/${root.path}`;
  if (root.path.split('/').includes('..')) throw bad(`root model path ${root.path} leaves the package`);
  if (!tree.get(rootPath)) {
    throw new ShrinkrayError('manifest-invalid', `${tree.name}: root model ${rootPath} (named by Manifest.json) not found`, name);
  }
  return { manifest: m as unknown as Manifest, rootPath };
}

export function newId(): string {
  const b = new Uint8Array(16);
  const c = (globalThis as { crypto?: { getRandomValues?: (a: Uint8Array) => Uint8Array } }).crypto;
  if (c?.getRandomValues) c.getRandomValues(b);
  else for (let i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0').toUpperCase()).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Manifest.json as coremltools writes it: sorted keys, 4-space indent, trailing newline. */
export function manifestFile(withWeights: boolean): OutputFile {
  const modelId = newId();
  const entries: Record<string, ManifestEntry> = {
    [modelId]: { author: 'com.apple.CoreML', description: 'CoreML Model Specification', name: 'model.mlmodel', path: 'com.apple.CoreML/model.mlmodel' },
  };
  if (withWeights) {
    entries[newId()] = { author: 'com.apple.CoreML', description: 'CoreML Model Weights', name: 'weights', path: 'com.apple.CoreML/weights' };
  }
  const sorted: Record<string, ManifestEntry> = {};
  for (const k of Object.keys(entries).sort()) sorted[k] = entries[k];
  const text = JSON.stringify({ fileFormatVersion: '1.0.0', itemInfoEntries: sorted, rootModelIdentifier: modelId }, null, 4) + '\n';
  const bytes = new TextEncoder().encode(text);
  return bytesFile('Manifest.json', bytes);
}

export function bytesFile(path: string, bytes: Uint8Array): OutputFile {
  return {
    path,
    size: bytes.length,
    async *chunks() {
      yield bytes;
    },
  };
}
