// The limits seqc puts on a spec, each past which it reports a diagnostic instead of working on.

/**
 * The largest spec seqc reads, in characters (UTF-16 code units): 1 MiB. Real specs are a few
 * kilobytes; the limit keeps every later stage's time and memory bounded.
 */
export const maxSpecCharacters = 1_048_576;

/** The longest name (an input, label, output or layer) in characters. */
export const maxNameLength = 256;

/** The most steps (`-> …`) one model may have, counting every chain and the decoder. */
export const maxSteps = 65_536;

/** How many times the parser runs again to find syntax errors after the first, at most. */
export const maxReparses = 10;

/** How many characters the re-parses after the first syntax error may read in all. */
export const reparseBudget = 4_000_000;
