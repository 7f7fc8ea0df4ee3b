/**
 * Elements per call of a hot loop function (a multiple of 32: every piece keeps a run's alignment for 16- and
 * 32-bit loads and whole mask bytes). A per-element loop over a whole tensor runs in pieces, one call per piece:
 * in Chromium's workers a single call over a 16.8M-element weight sometimes ran in baseline code from start to
 * end (V8 marked the function for optimisation at the entry of that call, compiled it for the next call, and
 * never moved the running call by on-stack replacement): every double and every index above 2^30 boxed,
 * hundreds of young-generation collections, 3-4x the time. With pieces, the next piece is that next call.
 * Accumulators are carried across pieces, so sums keep their element order. See palettize/f16scan.ts.
 */
export const CHUNK = 1 << 16;
