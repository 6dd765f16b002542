// Keras names as seqc identifiers: inputs, labels and outputs of an imported spec.

/** The .seq grammar's keywords, which a name of an imported spec avoids. */
const reserved = new Set(['model', 'input', 'output', 'true', 'false']);

/**
 * A Keras name as a seqc identifier: every character other than an ASCII letter, digit or `_`
 * becomes `_`, a name that starts with a digit (or is empty) gets `k_` in front, and a reserved
 * word gets `_` after it. `dense/Dense1` → `dense_Dense1`, `1st layer` → `k_1st_layer`.
 */
export function sanitizeName(name: string): string {
  let id = name.replace(/[^A-Za-z0-9_]/g, '_');
  if (id === '' || /^[0-9]/.test(id)) id = `k_${id}`;
  if (reserved.has(id)) id = `${id}_`;
  return id.length > 200 ? id.slice(0, 200) : id;
}

/**
 * A distinct identifier for a Keras name: its sanitized form, or with `_2`, `_3`, … appended when
 * that is already in `taken` or is one of `avoid` (layer kinds and builtins). Adds it to `taken`.
 */
export function claimName(taken: Set<string>, avoid: ReadonlySet<string>, name: string): string {
  const base = sanitizeName(name);
  let id = base;
  for (let n = 2; taken.has(id) || avoid.has(id); n++) id = `${base}_${n}`;
  taken.add(id);
  return id;
}
