// The check stage: AST → IR, resolving names and labels, binding arguments and inferring every type.

import { error, hasErrors, type Diagnostic } from '../diagnostics/diagnostic.js';
import type { IrOutput, ModelIR } from '../ir/ir.js';
import type { CallStep, Chain, DecoderBlock, EncoderBlock, InputDecl, ModelAst } from '../syntax/ast.js';
import {
  allInputs,
  assignLabels,
  chainHead,
  checkChain,
  createChainContext,
  finishEncoder,
  finishModel,
} from './chains.js';
import { checkDecoder } from './decoder.js';
import { checkInputs } from './inputs.js';
import { decoderParameters, parametersOf } from '../ir/parameters.js';

export interface CheckResult {
  readonly ir?: ModelIR;
  readonly diagnostics: readonly Diagnostic[];
}

export function check(ast: ModelAst): CheckResult {
  const diagnostics: Diagnostic[] = [];
  const decls = ast.members.filter((m): m is InputDecl => m.kind === 'input');
  const topChains = ast.members.filter((m): m is Chain => m.kind === 'chain');
  const encoders = ast.members.filter((m): m is EncoderBlock => m.kind === 'encoderBlock');
  const decoders = ast.members.filter((m): m is DecoderBlock => m.kind === 'decoderBlock');
  checkBlockStructure(encoders, decoders, topChains, diagnostics);
  const encoderChains = encoders[0]?.chains ?? [];
  const decoder = decoders[0];
  const chains = [...topChains, ...encoderChains];
  const inputs = checkInputs(decls, diagnostics);
  const chainContext = createChainContext(inputs, diagnostics, new Set(decls.map((d) => d.name.text)));
  const steps = [...chains.flatMap((c) => c.steps), ...(decoder?.steps ?? [])].filter(
    (s): s is CallStep => s.kind === 'callStep',
  );
  assignLabels(chainContext, steps);
  for (const chain of chains) checkChain(chainContext, chain);
  const decoderIr = decoder === undefined ? undefined : checkDecoder(decoder, encoderChains, chainContext, diagnostics);
  if (decoder === undefined) finishModel(chainContext, ast, chains);
  else finishEncoder(chainContext, chains);
  checkFeedNames(decls, chainContext.outputs, diagnostics);
  if (decoder !== undefined) checkBundleNames(decls, diagnostics);
  if (hasErrors(diagnostics) || (decoder !== undefined && decoderIr === undefined)) return { diagnostics };
  const parameters = [...chainContext.ops.flatMap(parametersOf)];
  if (decoderIr !== undefined) parameters.push(...decoderParameters(decoderIr.decoder));
  const ir: ModelIR = {
    name: ast.name.text,
    inputs: allInputs(chainContext),
    ops: chainContext.ops,
    outputs: chainContext.outputs,
    parameters,
    span: ast.span,
    ...(decoderIr === undefined ? {} : { decoder: decoderIr.decoder }),
    ...(decoderIr?.encoder === undefined ? {} : { encoder: decoderIr.encoder }),
  };
  return { ir, diagnostics };
}

/** Blocks: at most one of each, named `encoder` and `decoder`, an encoder only with a decoder, no loose chains beside them. */
function checkBlockStructure(
  encoders: readonly EncoderBlock[],
  decoders: readonly DecoderBlock[],
  topChains: readonly Chain[],
  diagnostics: Diagnostic[],
): void {
  for (const block of encoders) {
    if (block.keyword.text !== 'encoder') {
      diagnostics.push(
        error(
          'SEQ045',
          block.keyword.span,
          `\`${block.keyword.text} { … }\` is not a block seqc knows`,
          'the blocks are `encoder { … }` and `decoder(bos=…, eos=…, max_length=…) { … }`',
          { names: [block.keyword.text], expected: ['encoder', 'decoder'], found: block.keyword.text },
        ),
      );
    }
  }
  for (const block of decoders) {
    if (block.keyword.text !== 'decoder') {
      diagnostics.push(
        error(
          'SEQ045',
          block.keyword.span,
          `\`${block.keyword.text}(…) { … }\` is not a block seqc knows`,
          'the blocks are `encoder { … }` and `decoder(bos=…, eos=…, max_length=…) { … }`',
          { names: [block.keyword.text], expected: ['encoder', 'decoder'], found: block.keyword.text },
        ),
      );
    }
  }
  for (const extra of [...encoders.slice(1), ...decoders.slice(1)]) {
    diagnostics.push(
      error(
        'SEQ045',
        extra.keyword.span,
        `a model has at most one \`${extra.keyword.text}\` block`,
        'merge the chains into one block',
        { names: [extra.keyword.text], limit: 1 },
      ),
    );
  }
  if (encoders.length > 0 && decoders.length === 0) {
    diagnostics.push(
      error(
        'SEQ045',
        encoders[0]!.keyword.span,
        'an `encoder` block needs a `decoder` block to feed',
        'add `decoder(bos=…, eos=…, max_length=…) { -> Embedding(…) -> LSTM(…) -> Linear(vocab) }`, or write the chains outside a block',
        { names: ['encoder'], expected: 'decoder' },
      ),
    );
  }
  if (decoders.length > 0) {
    for (const chain of topChains) {
      diagnostics.push(
        error(
          'SEQ045',
          chainHead(chain).span,
          'in a model with a decoder, chains belong inside the `encoder { … }` block',
          'move this chain into the encoder block',
          { names: [chainHead(chain).text] },
        ),
      );
    }
  }
}

/**
 * The names a bundle's graphs give their own inputs and outputs (docs/seq2seq.md): the scoring graph's
 * `tgt_in` and `logits`, the encoder's `memory`, `h0`, `c0`, the step's state, `top_k` and choice, and the greedy
 * graph's `tokens` and `lengths`. A model input by one of these names would meet it in some graph.
 */
const bundleNames: ReadonlySet<string> = new Set([
  'tgt_in',
  'logits',
  'memory',
  'h0',
  'c0',
  'tokens',
  'lengths',
  'h',
  'c',
  'feed',
  'h_out',
  'c_out',
  'attention',
  'feed_out',
  'next_token',
  'next_log_prob',
  'top_tokens',
  'top_log_probs',
  'top_logits',
  'top_k',
]);

function checkBundleNames(decls: readonly InputDecl[], diagnostics: Diagnostic[]): void {
  for (const decl of decls) {
    if (!bundleNames.has(decl.name.text)) continue;
    diagnostics.push(
      error(
        'SEQ091',
        decl.name.span,
        `an input of a model with a decoder cannot be named \`${decl.name.text}\`: the bundle's graphs use that name for their own values`,
        'name the source `src` and its lengths `src_lengths`, as docs/seq2seq.md does',
        { names: [decl.name.text] },
      ),
    );
  }
}

/**
 * Names ONNX Runtime for JavaScript cannot use. Its feeds and results are plain objects keyed by
 * name, and `__proto__` is the one key such an object cannot hold as an ordinary property: a feed
 * `{ __proto__: tensor }` sets the object's prototype instead ("'feeds' must be an object …"), and
 * an output named so can never be fetched ("At least one output should be requested"). Other
 * names of Object.prototype (`constructor`, `toString`) were tried and work.
 */
const unusableFeedNames: ReadonlySet<string> = new Set(['__proto__']);

function checkFeedNames(decls: readonly InputDecl[], outputs: readonly IrOutput[], diagnostics: Diagnostic[]): void {
  for (const decl of decls) {
    if (!unusableFeedNames.has(decl.name.text)) continue;
    diagnostics.push(
      error(
        'SEQ044',
        decl.name.span,
        `an input named \`${decl.name.text}\` can never be fed: ONNX Runtime for JavaScript takes inputs as an object keyed by name, and \`${decl.name.text}\` is no ordinary key`,
        'rename the input, e.g. `proto`',
        { names: [decl.name.text] },
      ),
    );
  }
  for (const output of outputs) {
    if (!unusableFeedNames.has(output.name)) continue;
    diagnostics.push(
      error(
        'SEQ044',
        output.span,
        `an output named \`${output.name}\` can never be fetched: ONNX Runtime for JavaScript returns outputs as an object keyed by name, and \`${output.name}\` is no ordinary key`,
        'rename the output, e.g. `proto`',
        { names: [output.name] },
      ),
    );
  }
}
