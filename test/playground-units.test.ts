// The playground's pure parts, without a browser: the TextMate-derived highlighter, the token boxes, the layer graph.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compile } from '../src/index.js';
import { graphSvg, layerGraph } from '../playground/src/graph.js';
import { scopeClass, tokenizer, type TextMateGrammar } from '../playground/src/highlight.js';
import { detokenize, padRows, parseIdRows, parseTextRows, parseVocabulary } from '../playground/src/tokens.js';

const grammar = JSON.parse(readFileSync('grammar/seq.tmLanguage.json', 'utf8')) as TextMateGrammar;

describe('the highlighter', () => {
  const tokenize = tokenizer(grammar);

  it('colours a spec by the TextMate grammar’s scopes', () => {
    const text = 'model M {\n  input tokens: int64[batch, time]\n  tokens -> fc: Linear(2, bias=true) -> softmax -> output y  # done\n}\n';
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
    expect(parseVocabulary('{"the": -1}').problems).toEqual(['the vocabulary gives "the" the id -1, not a whole number ≥ 0']);
    expect(parseVocabulary('  ').problems).toHaveLength(1);
  });

  it('reads ids as lines or JSON, and text through the vocabulary', () => {
    expect(parseIdRows('5 17 2\n8, 9').value).toEqual([[5, 17, 2], [8, 9]]);
    expect(parseIdRows('[[1, 2], [3]]').value).toEqual([[1, 2], [3]]);
    expect(parseIdRows('[4, 5]').value).toEqual([[4, 5]]);
    expect(parseIdRows('5 x').problems).toEqual(['row 1, token 2: "x" is not a whole number']);
    const vocab = parseVocabulary('<pad>\n<unk>\nthe\ncat').value!;
    expect(parseTextRows('the cat\nthe dog', vocab).value).toEqual([[2, 3], [2, 1]]);
    expect(parseTextRows('the dog', parseVocabulary('the\ncat').value!).problems).toEqual(['row 1: "dog" is not in the vocabulary, which has no <unk> token']);
    expect(padRows([[1, 2, 3], [4]], 0)).toEqual({ ids: [[1, 2, 3], [4, 0, 0]], lengths: [3, 1] });
    expect(detokenize([2, 3, 40], vocab)).toBe('the cat #40');
  });
});

describe('the layer graph', () => {
  it('draws inputs, layers and outputs, with masks from the lengths', () => {
    const ir = compile(readFileSync('specs/sentiment.seq', 'utf8')).ir!;
    const graph = layerGraph(ir);
    expect(graph.nodes.map((n) => n.label)).toEqual(['tokens', 'lengths', 'embedding', 'lstm', 'last', 'fc', 'softmax', 'probs']);
    expect(graph.edges.filter((e) => e.kind === 'lengths').map((e) => e.to)).toEqual(['op:model:lstm', 'op:model:last']);
    expect(graphSvg(graph)).toMatch(/^<svg [^>]*class="layer-graph"/);
  });

  it('draws the encoder and the per-token decoder as blocks, joined by the memory and the initial state', () => {
    const ir = compile(readFileSync('specs/translator.seq', 'utf8'), { sourceName: 'translator.seq' }).ir!;
    const graph = layerGraph(ir);
    expect(graph.nodes.filter((n) => n.block === 'decoder').map((n) => n.label)).toEqual(['previous token', 'tgt_embedding', 'decoder', 'attention', 'generator', 'next-token logits']);
    expect(graph.edges.filter((e) => e.kind === 'memory' || e.kind === 'state').map((e) => [e.from, e.to, e.note])).toEqual([
      ['op:encoder:encoder', 'op:decoder:decoder', 'initial state'],
      ['op:encoder:encoder', 'op:decoder:attention', 'memory'],
    ]);
    const svg = graphSvg(graph);
    expect(svg).toContain('data-block="encoder"');
    expect(svg).toContain('data-block="decoder"');
  });
});
