/**
 * Every failure the core reports is a ShrinkrayError: a message a person can act on, naming the file
 * and the problem, plus a stable code that tests and the UI can switch on.
 */
export type ErrorCode =
  | 'empty-file'
  | 'not-a-model'
  | 'protobuf-decode'
  | 'unsupported-model'
  | 'no-weights'
  | 'manifest-missing'
  | 'manifest-invalid'
  | 'weights-missing'
  | 'blob-header'
  | 'blob-truncated'
  | 'zip-invalid'
  | 'zip-unsafe-path'
  | 'zip-no-model'
  | 'external-data-missing'
  | 'external-data-range'
  | 'invalid-option'
  | 'target-too-low'
  | 'cancelled'
  | 'internal';

export class ShrinkrayError extends Error {
  readonly code: ErrorCode;
  readonly file?: string;
  constructor(code: ErrorCode, message: string, file?: string) {
    super(message);
    this.name = 'ShrinkrayError';
    this.code = code;
    this.file = file;
  }
}

export function isShrinkrayError(e: unknown): e is ShrinkrayError {
  return e instanceof Error && (e as ShrinkrayError).name === 'ShrinkrayError' && typeof (e as ShrinkrayError).code === 'string';
}

/** A message for any thrown value, for the UI and the CLI. */
export function describeError(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
