// The default branch of an exhaustive switch: a value that the types say cannot exist is a bug in seqc, never a user error.

/** Throws for a value the type checker proved impossible; reaching it means a `switch` missed a new kind. */
export function assertNever(value: never): never {
  throw new Error(`unexpected value ${JSON.stringify(value)}`);
}
