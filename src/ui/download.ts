/** Saving bytes from the page: a Blob built from chunks (never one big buffer) and an <a download> click. */

export async function blobFromChunks(chunks: AsyncIterable<Uint8Array>, type = 'application/octet-stream'): Promise<Blob> {
  const parts: BlobPart[] = [];
  for await (const c of chunks) parts.push(c as Uint8Array<ArrayBuffer>);
  return new Blob(parts, { type });
}

export function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.style.display = 'none';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export function saveText(text: string, name: string, type = 'text/plain'): void {
  saveBlob(new Blob([text], { type }), name);
}
