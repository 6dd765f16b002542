// Bounds that the checker enforces on a spec and the runtime on a request, so that both sides agree on them.

/**
 * Bounds on one generation request, so that its time and memory stay bounded whatever a spec,
 * a manifest or a caller asks for. They are fixed; staying under them is the caller's choice of
 * fewer rows per call, a narrower beam or a shorter maximum length.
 *
 * - `maxLength`, 4096 tokens per hypothesis: RNN decoders degrade long before that, it is 4× the
 *   context of GPT-2, and the greedy graph's `tokens` output is `[batch, max_length]`.
 * - `beamWidth`, 256: beam search ranks width × (width + 1) candidates per row and step, so the
 *   width is bounded by the time of one step; widths above 10–20 rarely change the n best.
 * - `samples`, 256 samples per row, for the same reason.
 * - `work`, 2^20 token positions: rows × hypotheses per row (beam width or samples) × max length,
 *   which bounds the hypotheses kept in memory and the step rows run. One row with the widest beam
 *   to the longest length fits exactly.
 */
export const generationLimits = { maxLength: 4096, beamWidth: 256, samples: 256, work: 2 ** 20 } as const;
