// The playground's pure parts, without a browser: the TextMate-derived highlighter, the token boxes, the layer graph, download names, generation options and feature batches.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compile } from '../src/index.js';
import { featuresJson, padFeatureRows, randomFeatures } from '../playground/src/features.js';
import { generationOptions, type GenerationForm } from '../playground/src/generation-options.js';
import { graphSvg, layerGraph, wrapDetail } from '../playground/src/graph.js';
import { fileStem, isExampleText, modelName, stemOfSource } from '../playground/src/naming.js';
import { scopeClass, tokenizer, type TextMateGrammar } from '../playground/src/highlight.js';
import { detokenize, padRows, parseIdRows, parseTextRows, parseVocabulary } from '../playground/src/tokens.js';

const grammar = JSON.parse(readFileSync('grammar/seq.tmLanguage.json', 'utf8')) as TextMateGrammar;

describe('the highlighter', () => {
  const tokenize = tokenizer(grammar);

  it('colours a spec by the TextMate grammar’s scopes', () => {
    const text =
      'model M {\n  input tokens: int64[batch, time]\n  tokens -> fc: Linear(2, bias=true) -> softmax -> output y  # done\n}\n';
    const scoped = tokenize(text).map((t) => [text.slice(t.start, t.end), t.scope]);
    expect(scoped).toEqual(
      expect.arrayContaining([
        ['model', 'keyword.other.seq'],
        ['M', 'entity.name.type.model.seq'],
        ['input', 'keyword.other.seq'],
        ['tokens', 'variable.other.input.seq'],
        ['int64', 'storage.type.seq'],
        ['->', 'keyword.operator.arrow.seq'],
        ['fc', 'entity.name.tag.label.seq'],
        ['Linear', 'support.class.layer.seq'],
        ['2', 'constant.numeric.seq'],
        ['bias', 'variable.parameter.seq'],
        ['true', 'constant.language.boolean.seq'],
        ['softmax', 'support.function.builtin.seq'],
        ['# done', 'comment.line.number-sign.seq'],
      ]),
    );
    const tokens = tokenize(text);
    tokens.forEach((t, i) => expect(t.start).toBeGreaterThanOrEqual(i === 0 ? 0 : tokens[i - 1]!.end));
    expect(scopeClass('keyword.operator.arrow.seq')).toBe('tm-keyword-operator');
  });

  it('tokenizes every example quickly', () => {
    const source = readFileSync('specs/translator.seq', 'utf8').repeat(20);
    const started = performance.now();
    expect(tokenize(source).length).toBeGreaterThan(500);
    expect(performance.now() - started).toBeLessThan(500);
  });
});

describe('the token boxes', () => {
  it('reads a vocabulary as lines, as a JSON list or as a JSON object', () => {
    expect(parseVocabulary('<pad>\nthe\ncat\n').value!.tokens).toEqual(['<pad>', 'the', 'cat']);
    expect(parseVocabulary('["<pad>", "the"]').value!.ids.get('the')).toBe(1);
    expect(parseVocabulary('{"the": 4, "cat": 2}').value!.tokens[4]).toBe('the');
    expect(parseVocabulary('{"the": -1}').problems).toEqual([
      'the vocabulary gives "the" the id -1, not a whole number ≥ 0',
    ]);
    expect(parseVocabulary('  ').problems).toHaveLength(1);
  });

  it('reads ids as lines or JSON, and text through the vocabulary', () => {
    expect(parseIdRows('5 17 2\n8, 9').value).toEqual([
      [5, 17, 2],
      [8, 9],
    ]);
    expect(parseIdRows('[[1, 2], [3]]').value).toEqual([[1, 2], [3]]);
    expect(parseIdRows('[4, 5]').value).toEqual([[4, 5]]);
    expect(parseIdRows('5 x').problems).toEqual(['row 1, token 2: "x" is not a whole number']);
    const vocab = parseVocabulary('<pad>\n<unk>\nthe\ncat').value!;
    expect(parseTextRows('the cat\nthe dog', vocab).value).toEqual([
      [2, 3],
      [2, 1],
    ]);
    expect(parseTextRows('the dog', parseVocabulary('the\ncat').value!).problems).toEqual([
      'row 1: "dog" is not in the vocabulary, which has no <unk> token',
    ]);
    expect(padRows([[1, 2, 3], [4]], 0)).toEqual({
      ids: [
        [1, 2, 3],
        [4, 0, 0],
      ],
      lengths: [3, 1],
    });
    expect(detokenize([2, 3, 40], vocab)).toBe('the cat #40');
  });
});

describe('the layer graph', () => {
  it('draws inputs, layers and outputs, with masks from the lengths', () => {
    const ir = compile(readFileSync('specs/sentiment.seq', 'utf8')).ir!;
    const graph = layerGraph(ir);
    expect(graph.nodes.map((n) => n.label)).toEqual([
      'tokens',
      'lengths',
      'embedding',
      'lstm',
      'last',
      'fc',
      'softmax',
      'probs',
    ]);
    expect(graph.edges.filter((e) => e.kind === 'lengths').map((e) => e.to)).toEqual([
      'op:model:lstm',
      'op:model:last',
    ]);
    expect(graphSvg(graph)).toMatch(/^<svg [^>]*class="layer-graph"/);
  });

  it('draws the encoder and the per-token decoder as blocks, joined by the memory and the initial state', () => {
    const ir = compile(readFileSync('specs/translator.seq', 'utf8'), { sourceName: 'translator.seq' }).ir!;
    const graph = layerGraph(ir);
    expect(graph.nodes.filter((n) => n.block === 'decoder').map((n) => n.label)).toEqual([
      'previous token',
      'tgt_embedding',
      'decoder',
      'attention',
      'generator',
      'next-token logits',
    ]);
    expect(
      graph.edges.filter((e) => e.kind === 'memory' || e.kind === 'state').map((e) => [e.from, e.to, e.note]),
    ).toEqual([
      ['op:encoder:encoder', 'op:decoder:decoder', 'initial state'],
      ['op:encoder:encoder', 'op:decoder:attention', 'memory'],
    ]);
    const svg = graphSvg(graph);
    expect(svg).toContain('data-block="encoder"');
    expect(svg).toContain('data-block="decoder"');
  });
});

describe('the layer graph’s text', () => {
  it('wraps a long detail after its commas and keeps every character', () => {
    const detail = 'Embedding(vocab=20000, dim=128, padding_idx=0)';
    expect(wrapDetail(detail)).toEqual(['Embedding(vocab=20000,', 'dim=128, padding_idx=0)']);
    expect(wrapDetail('Attention(score=general) · luong')).toEqual(['Attention(score=general)', '· luong']);
    expect(wrapDetail('last')).toEqual(['last']);
    // A line that ends exactly at the limit, its comma's space included, starts the next line without a space.
    expect(wrapDetail('BiLSTM(hidden=256, layers=2, dropout=0.3)')).toEqual([
      'BiLSTM(hidden=256, layers=2,',
      'dropout=0.3)',
    ]);
    expect(wrapDetail('x'.repeat(60)).join('')).toBe('x'.repeat(60));
  });

  it('draws every label, detail and shape in full, and widens the nodes for a long label', () => {
    for (const stem of ['sentiment', 'simple_lstm', 'tagger', 'translator']) {
      const svg = graphSvg(layerGraph(compile(readFileSync(`specs/${stem}.seq`, 'utf8')).ir!));
      expect(svg, stem).not.toContain('…');
    }
    const long = compile(
      'model M {\n  input tokens: int64[batch, time]\n  tokens -> a_very_long_embedding_label_indeed: Embedding(vocab=10, dim=4) -> output y\n}\n',
    ).ir!;
    const svg = graphSvg(layerGraph(long));
    expect(svg).toContain('>a_very_long_embedding_label_indeed</text>');
    const width = Number(/<rect width="(\d+)"/.exec(svg.slice(svg.indexOf('class="node ')))![1]);
    expect(width).toBeGreaterThan(196);
  });
});

describe('download names', () => {
  it('come from the model the spec declares, in snake case', () => {
    expect(['Sentiment', 'SimpleLSTM', 'TinyTranslator', 'Foo', 'LSTMTagger', 'charLM2'].map(fileStem)).toEqual([
      'sentiment',
      'simple_lstm',
      'tiny_translator',
      'foo',
      'lstm_tagger',
      'char_lm2',
    ]);
    expect(modelName('# a model Commented here\nmodel Foo {\n}')).toBe('Foo');
    expect(stemOfSource('model Foo {}', 'sentiment')).toBe('foo');
    expect(stemOfSource('# nothing yet', 'sentiment')).toBe('sentiment');
    // Every shipped spec's model name gives its file's stem, so the downloads keep their names.
    for (const stem of ['sentiment', 'simple_lstm', 'tagger', 'translator'])
      expect(stemOfSource(readFileSync(`specs/${stem}.seq`, 'utf8'), 'x')).toBe(stem);
  });

  it('tell an example from an edited text', () => {
    expect(isExampleText('model A {}\n', 'model A {}\n\n')).toBe(true);
    expect(isExampleText('model A {}\r\n', 'model A {}\n')).toBe(true);
    expect(isExampleText('model B {}\n', 'model A {}\n')).toBe(false);
  });
});

describe('generation options from the boxes', () => {
  const form: GenerationForm = {
    strategy: 'sample',
    beamWidth: '4',
    nBest: '2',
    lengthPenalty: '',
    temperature: '0.7',
    topK: '5',
    topP: '0.9',
    seed: '3',
    maxLength: '',
  };

  it('are the runtime’s options for the chosen search', () => {
    expect(generationOptions(form)).toEqual({
      options: { strategy: 'sample', sample: { count: 2, temperature: 0.7, topK: 5, topP: 0.9, seed: 3 } },
      problems: [],
    });
    expect(generationOptions({ ...form, strategy: 'beam', lengthPenalty: '0.6', maxLength: '9' }).options).toEqual({
      strategy: 'beam',
      beam: { width: 4, nBest: 2, lengthPenalty: 0.6 },
      maxLength: 9,
    });
    expect(generationOptions({ ...form, strategy: 'greedy' }).options).toEqual({ strategy: 'greedy' });
    // Empty boxes leave the runtime's defaults; the seed is 0 so that a sample repeats.
    expect(generationOptions({ ...form, temperature: '', topK: ' ', topP: '', seed: '' }).options).toEqual({
      strategy: 'sample',
      sample: { count: 2, seed: 0 },
    });
  });

  it('name each box that holds no number, and leave ranges to the runtime', () => {
    expect(generationOptions({ ...form, temperature: 'warm', topP: '1/2' })).toEqual({
      problems: ['temperature: "warm" is not a number', 'top-p: "1/2" is not a number'],
    });
    expect(generationOptions({ ...form, temperature: '-1' }).options!.sample!.temperature).toBe(-1);
    expect(generationOptions({ ...form, strategy: 'nucleus' }).problems).toEqual([
      'search: "nucleus" is not greedy, beam or sample',
    ]);
  });
});

describe('feature batches', () => {
  it('are random, seeded and of the asked shape', () => {
    const batch = randomFeatures(3, 4, 5, 1) as number[][][];
    expect([batch.length, batch[0]!.length, batch[0]![0]!.length]).toEqual([3, 4, 5]);
    expect(batch.flat(2).every((v) => v >= -1 && v <= 1)).toBe(true);
    expect(randomFeatures(3, 4, 5, 1)).toEqual(batch);
    expect(randomFeatures(3, 4, 5, 2)).not.toEqual(batch);
    expect(JSON.parse(featuresJson(batch))).toEqual(batch);
    expect((randomFeatures(2, undefined, 3, 1) as number[][])[1]).toHaveLength(3);
  });

  it('are padded with zero vectors, their lengths counted, and bad rows named', () => {
    expect(
      padFeatureRows(
        [
          [
            [1, 2],
            [3, 4],
          ],
          [[5, 6]],
        ],
        2,
      ),
    ).toEqual({
      rows: [
        [
          [1, 2],
          [3, 4],
        ],
        [
          [5, 6],
          [0, 0],
        ],
      ],
      lengths: [2, 1],
    });
    expect(padFeatureRows([[[1, 2, 3]]], 2).problem).toBe('row 1, step 1 has 3 numbers, not 2');
    expect(padFeatureRows([[1, 2]], 2).problem).toBe('row 1 is not a list of time steps, each a list of numbers');
    expect(padFeatureRows({}, 2).problem).toBe('give a JSON list of rows, each a list of time steps');
  });
});
