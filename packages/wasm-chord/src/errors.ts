/**
 * Named error classes with a stable `code`.
 *
 * Errors cross two boundaries as plain `{ name, message, code }` objects: the wasm boundary (the Rust
 * side throws plain objects, see rust/web/API.md) and the worker boundary (structured clone drops the
 * prototype of custom Error classes). `fromPlain` rebuilds the right class on this side, so
 * `err instanceof PromptTooLongError` and `err.code === 'PROMPT_TOO_LONG'` both work for callers.
 */

export type ErrorCode =
  | 'ABORTED'
  | 'BAD_GGUF'
  | 'UNSUPPORTED_MODEL'
  | 'PROMPT_TOO_LONG'
  | 'INVALID_REQUEST'
  | 'NETWORK'
  | 'QUOTA_EXCEEDED'
  | 'INTEGRITY'
  | 'BACKEND_UNAVAILABLE'
  | 'ENGINE_UNLOADED'
  | 'INTERNAL';

/** The shape an error has while it crosses a boundary. */
export interface PlainError {
  name: string;
  message: string;
  code: string;
}

export class WasmChordError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'WasmChordError';
  }
}

/** The operation was cancelled through an AbortSignal (or by `engine.unload()`). */
export class AbortError extends WasmChordError {
  constructor(message = 'the operation was aborted', options?: { cause?: unknown }) {
    super('ABORTED', message, options);
    // Same name as the DOM's AbortError, so code that checks `err.name === 'AbortError'` works.
    this.name = 'AbortError';
  }
}

export class BadGgufError extends WasmChordError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BAD_GGUF', message, options);
    this.name = 'BadGgufError';
  }
}

export class UnsupportedModelError extends WasmChordError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('UNSUPPORTED_MODEL', message, options);
    this.name = 'UnsupportedModelError';
  }
}

export class PromptTooLongError extends WasmChordError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PROMPT_TOO_LONG', message, options);
    this.name = 'PromptTooLongError';
  }
}

export class InvalidRequestError extends WasmChordError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_REQUEST', message, options);
    this.name = 'InvalidRequestError';
  }
}

export class NetworkError extends WasmChordError {
  /** HTTP status when the server answered, undefined when the request itself failed. */
  readonly status: number | undefined;
  constructor(message: string, options?: { cause?: unknown; status?: number }) {
    super('NETWORK', message, options);
    this.name = 'NetworkError';
    this.status = options?.status;
  }
}

export class QuotaExceededError extends WasmChordError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('QUOTA_EXCEEDED', message, options);
    this.name = 'QuotaExceededError';
  }
}

/** The model's bytes do not match the `sha256` option. */
export class IntegrityError extends WasmChordError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INTEGRITY', message, options);
    this.name = 'IntegrityError';
  }
}

export class BackendUnavailableError extends WasmChordError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BACKEND_UNAVAILABLE', message, options);
    this.name = 'BackendUnavailableError';
  }
}

/** The engine was unloaded; create a new one. */
export class EngineUnloadedError extends WasmChordError {
  constructor(message = 'the engine was unloaded', options?: { cause?: unknown }) {
    super('ENGINE_UNLOADED', message, options);
    this.name = 'EngineUnloadedError';
  }
}

/** A bug in wasm-chord: please report it with the message. */
export class InternalError extends WasmChordError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INTERNAL', message, options);
    this.name = 'InternalError';
  }
}

const CONSTRUCTORS: Record<ErrorCode, (message: string) => WasmChordError> = {
  ABORTED: (m) => new AbortError(m),
  BAD_GGUF: (m) => new BadGgufError(m),
  UNSUPPORTED_MODEL: (m) => new UnsupportedModelError(m),
  PROMPT_TOO_LONG: (m) => new PromptTooLongError(m),
  INVALID_REQUEST: (m) => new InvalidRequestError(m),
  NETWORK: (m) => new NetworkError(m),
  QUOTA_EXCEEDED: (m) => new QuotaExceededError(m),
  INTEGRITY: (m) => new IntegrityError(m),
  BACKEND_UNAVAILABLE: (m) => new BackendUnavailableError(m),
  ENGINE_UNLOADED: (m) => new EngineUnloadedError(m),
  INTERNAL: (m) => new InternalError(m),
};

function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(CONSTRUCTORS, code);
}

function isPlainError(value: unknown): value is PlainError {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { message?: unknown }).message === 'string' &&
    typeof (value as { code?: unknown }).code === 'string'
  );
}

/** Serialises any thrown value for a trip across postMessage. */
export function toPlain(err: unknown): PlainError {
  const e = toWasmChordError(err);
  return { name: e.name, message: e.message, code: e.code };
}

/** Rebuilds the named class from `{ name, message, code }`; unknown codes become INTERNAL. */
export function fromPlain(plain: PlainError): WasmChordError {
  if (isErrorCode(plain.code)) return CONSTRUCTORS[plain.code](plain.message);
  return new InternalError(`${plain.name || 'Error'} (${plain.code}): ${plain.message}`);
}

/**
 * Normalises anything thrown (our classes, the wasm side's plain objects, DOM exceptions, plain
 * Errors) into a WasmChordError. DOM `AbortError`s (fetch, streams) become our AbortError and
 * `QuotaExceededError`s (OPFS writes) our QuotaExceededError, so callers see one vocabulary.
 */
export function toWasmChordError(err: unknown): WasmChordError {
  if (err instanceof WasmChordError) return err;
  if (isPlainError(err) && isErrorCode(err.code)) return fromPlain(err);
  const name = typeof err === 'object' && err !== null ? (err as { name?: unknown }).name : undefined;
  const message =
    typeof err === 'object' && err !== null && typeof (err as { message?: unknown }).message === 'string'
      ? (err as { message: string }).message
      : String(err);
  if (name === 'AbortError' || name === 'TimeoutError') return new AbortError(message, { cause: err });
  if (name === 'QuotaExceededError') {
    return new QuotaExceededError(`storage quota exceeded: ${message}`, { cause: err });
  }
  return new InternalError(message, { cause: err });
}
