/**
 * Compile-time check that the generated wasm-bindgen module (src/wasm/, built by
 * scripts/build-wasm.sh) provides what this package uses (wasm-api.ts, a copy of rust/web/API.md).
 * If the Rust side changes a signature, `npm run build` fails here instead of at run time.
 */

import type * as Generated from './wasm/wasm_chord_web.js';
import type * as GeneratedThreaded from './wasm-threads/wasm_chord_web.js';
import type { WasmBindings, WasmThreadedBindings } from './wasm-api.js';

type Conforms<T extends WasmBindings> = T;
export type GeneratedConformsToContract = Conforms<typeof Generated>;
type ConformsThreaded<T extends WasmThreadedBindings> = T;
export type GeneratedThreadedConformsToContract = ConformsThreaded<typeof GeneratedThreaded>;
