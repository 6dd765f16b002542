// The dates demo's synthetic task: dates written in many ways ("the 3rd of march 1999") mapped to ISO form ("1999-03-03").

/** Special ids shared by both vocabularies. */
export const pad = 0;
export const bos = 1;
export const eos = 2;
const specials = ['<pad>', '<bos>', '<eos>'] as const;

/** The first and last year that the task covers. */
export const firstYear = 1900;
export const lastYear = 2099;

/** One example: the source text, its tokens and ids, and the ISO target with its ids. */
export interface Example {
  readonly text: string;
  readonly iso: string;
  /** Source ids, without `bos` or `eos`. */
  readonly src: readonly number[];
  /** Target ids: the ISO characters followed by `eos`. */
  readonly tgt: readonly number[];
}

/** The three disjoint sets of the task: no date appears in two of them, in any wording. */
export interface Splits {
  readonly train: readonly Example[];
  /** Decides when training stops. */
  readonly validation: readonly Example[];
  /** Never seen by training: what `evaluate.ts` reports. */
  readonly heldOut: readonly Example[];
}

export interface SplitSizes {
  readonly train: number;
  readonly validation: number;
  readonly heldOut: number;
}

export const defaultSeed = 20240;
export const defaultSizes: SplitSizes = { train: 30_000, validation: 1_000, heldOut: 2_000 };

// Words.

const months = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
];
const monthAbbreviations = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const units = ['', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
const teens = [
  'ten',
  'eleven',
  'twelve',
  'thirteen',
  'fourteen',
  'fifteen',
  'sixteen',
  'seventeen',
  'eighteen',
  'nineteen',
];
const tens = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];
const unitOrdinals = ['', 'first', 'second', 'third', 'fourth', 'fifth', 'sixth', 'seventh', 'eighth', 'ninth'];
const teenOrdinals = [
  'tenth',
  'eleventh',
  'twelfth',
  'thirteenth',
  'fourteenth',
  'fifteenth',
  'sixteenth',
  'seventeenth',
  'eighteenth',
  'nineteenth',
];
const tenOrdinals = ['', '', 'twentieth', 'thirtieth'];
const connectives = ['the', 'of', 'on', 'and', 'oh', 'hundred', 'thousand', 'st', 'nd', 'rd', 'th'];
const punctuation = [',', '/', '.', '-'];
const digits = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/**
 * The source vocabulary: the specials, then every word, digit and mark the formats use, in a
 * fixed order. Digits are tokens of their own, so "1999" is four tokens.
 */
export const sourceVocabulary: readonly string[] = [
  ...specials,
  ...new Set([
    ...months,
    ...monthAbbreviations,
    ...units.slice(1),
    ...teens,
    ...tens.slice(2),
    ...unitOrdinals.slice(1),
    ...teenOrdinals,
    ...tenOrdinals.slice(2),
    ...connectives,
    ...punctuation,
    ...digits,
  ]),
];

/** The target vocabulary: the specials, the ten digits and '-', one character per token. */
export const targetVocabulary: readonly string[] = [...specials, ...digits, '-'];

const sourceIds = new Map(sourceVocabulary.map((word, id) => [word, id]));
const targetIds = new Map(targetVocabulary.map((char, id) => [char, id]));

/** Splits text into tokens: words, single digits, and punctuation marks ("3rd," → 3 rd ,). */
export function tokenize(text: string): string[] {
  return text.toLowerCase().match(/[a-z]+|[0-9]|[^\sa-z0-9]/g) ?? [];
}

/** Source ids of a text; throws on a token outside the vocabulary, which the formats never make. */
export function encodeSource(text: string): number[] {
  return tokenize(text).map((token) => {
    const id = sourceIds.get(token);
    if (id === undefined) throw new Error(`"${token}" in "${text}" is not in the source vocabulary`);
    return id;
  });
}

/** Target ids of an ISO date, ending with `eos`. */
export function encodeTarget(iso: string): number[] {
  return [...[...iso].map((char) => targetIds.get(char)!), eos];
}

/** The text of generated target ids, up to `eos`; specials other than `eos` show as `?`. */
export function decodeTarget(ids: readonly number[]): string {
  const end = ids.indexOf(eos);
  return (end < 0 ? ids : ids.slice(0, end))
    .map((id) => (id > eos && id < targetVocabulary.length ? targetVocabulary[id] : '?'))
    .join('');
}

/**
 * A seeded generator of floats in [0, 1): xoshiro128** with its state filled by splitmix32. It is
 * the demo's own, so the data, initialization and batch order (and so the trained weights) stay
 * the same whatever seqc's generators become.
 */
export function seededRandom(seed: number): () => number {
  let mix = seed >>> 0;
  const splitmix32 = (): number => {
    mix = (mix + 0x9e3779b9) >>> 0;
    let z = mix;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  const rotl = (x: number, k: number): number => (x << k) | (x >>> (32 - k));
  let [s0, s1, s2, s3] = [splitmix32(), splitmix32(), splitmix32(), splitmix32()];
  return () => {
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return result / 4294967296;
  };
}

// Dates.

/** A calendar date. */
export interface CalendarDate {
  readonly year: number;
  readonly month: number;
  readonly day: number;
}

/** Every date from `firstYear`-01-01 to `lastYear`-12-31, in order. */
export function allDates(): CalendarDate[] {
  const dates: CalendarDate[] = [];
  for (let year = firstYear; year <= lastYear; year++) {
    for (let month = 1; month <= 12; month++) {
      for (let day = 1; day <= daysInMonth(year, month); day++) dates.push({ year, month, day });
    }
  }
  return dates;
}

export function isoDate(date: CalendarDate): string {
  return `${date.year}-${twoDigits(date.month)}-${twoDigits(date.day)}`;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function twoDigits(n: number): string {
  return String(n).padStart(2, '0');
}

// Wordings.

type Random = () => number;

function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

/** 1–99 in words: "seven", "twelve", "forty two". */
function numberWords(n: number): string {
  if (n < 10) return units[n]!;
  if (n < 20) return teens[n - 10]!;
  return n % 10 === 0 ? tens[n / 10]! : `${tens[Math.floor(n / 10)]} ${units[n % 10]}`;
}

/** 1–31 as an ordinal in words: "first", "twelfth", "twenty third". */
function ordinalWords(n: number): string {
  if (n < 10) return unitOrdinals[n]!;
  if (n < 20) return teenOrdinals[n - 10]!;
  return n % 10 === 0 ? tenOrdinals[n / 10]! : `${tens[Math.floor(n / 10)]} ${unitOrdinals[n % 10]}`;
}

/** 1–31 with its English suffix: "1st", "12th", "23rd". */
function ordinalDigits(n: number): string {
  const suffix =
    n % 10 === 1 && n !== 11 ? 'st' : n % 10 === 2 && n !== 12 ? 'nd' : n % 10 === 3 && n !== 13 ? 'rd' : 'th';
  return `${n}${suffix}`;
}

/** A year as people say it, with the common variants: "nineteen oh five", "two thousand and three", "twenty twenty one". */
function yearWords(random: Random, year: number): string {
  const century = Math.floor(year / 100);
  const rest = year % 100;
  if (century === 19) {
    if (rest === 0) return 'nineteen hundred';
    return rest < 10 ? `nineteen oh ${units[rest]}` : `nineteen ${numberWords(rest)}`;
  }
  if (rest === 0) return 'two thousand';
  const thousands = `two thousand ${pick(random, ['', 'and '])}${numberWords(rest)}`;
  return rest < 10 ? thousands : pick(random, [thousands, `twenty ${numberWords(rest)}`]);
}

/** The ways a date is written; each takes the date and the random source for its variants. */
const formats: readonly ((random: Random, d: CalendarDate) => string)[] = [
  (r, d) => `${months[d.month - 1]} ${ordinalWords(d.day)} ${yearWords(r, d.year)}`,
  (r, d) => `the ${ordinalWords(d.day)} of ${months[d.month - 1]} ${yearWords(r, d.year)}`,
  (_, d) => `the ${ordinalDigits(d.day)} of ${months[d.month - 1]} ${d.year}`,
  (_, d) => `${d.day} ${monthAbbreviations[d.month - 1]} ${d.year}`,
  (_, d) => `${months[d.month - 1]} ${d.day}, ${d.year}`,
  (r, d) => `on ${pick(r, [months, monthAbbreviations])[d.month - 1]} ${ordinalDigits(d.day)} ${d.year}`,
  (r, d) => `${ordinalDigits(d.day)} ${pick(r, [months, monthAbbreviations])[d.month - 1]} ${yearWords(r, d.year)}`,
  (r, d) => [twoDigits(d.day), twoDigits(d.month), String(d.year)].join(pick(r, ['/', '.', '-'])),
];

/** The number of wordings, for reports. */
export const formatCount = formats.length;

/** A random wording of a date. */
export function wordDate(random: Random, date: CalendarDate): string {
  return pick(random, formats)(random, date);
}

function example(random: Random, date: CalendarDate): Example {
  const text = wordDate(random, date);
  const iso = isoDate(date);
  return { text, iso, src: encodeSource(text), tgt: encodeTarget(iso) };
}

/**
 * Builds the three sets from a seed. The dates are shuffled once; the first `heldOut` go to the
 * held-out set, the next `validation` to the validation set, and the rest form the training pool,
 * from which `train` examples are drawn (with repeats, each in a random wording). So no date of
 * the held-out set appears in training in any wording, and equal seeds give equal sets.
 */
export function makeSplits(seed: number = defaultSeed, sizes: SplitSizes = defaultSizes): Splits {
  const random = seededRandom(seed);
  const dates = allDates();
  for (let i = dates.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [dates[i], dates[j]] = [dates[j]!, dates[i]!];
  }
  const heldOutDates = dates.slice(0, sizes.heldOut);
  const validationDates = dates.slice(sizes.heldOut, sizes.heldOut + sizes.validation);
  const pool = dates.slice(sizes.heldOut + sizes.validation);
  return {
    heldOut: heldOutDates.map((d) => example(random, d)),
    validation: validationDates.map((d) => example(random, d)),
    train: Array.from({ length: sizes.train }, () => example(random, pick(random, pool))),
  };
}

/**
 * A vocabulary as a JSON list of tokens whose index is the id: the form `seqc generate` reads with
 * `--src-vocab` and `--tgt-vocab`. The specials are `<pad>`, `<bos>` and `<eos>`, ids 0, 1 and 2.
 */
export function vocabularyJson(tokens: readonly string[]): string {
  return `${JSON.stringify(tokens)}\n`;
}

/** The file names of the exported vocabularies, next to the weights. */
export const vocabularyFiles = { source: 'source-vocab.json', target: 'target-vocab.json' } as const;
