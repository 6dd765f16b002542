// `seqc emit pytorch SPEC -o FILE`: the spec as a self-contained PyTorch module, written atomically.

import { basename, dirname, extname, join } from 'node:path';
import { checkSource } from '../index.js';
import { error, spanOfWhole } from '../diagnostics/diagnostic.js';
import { emitPytorch, pytorchClassName } from '../emit/pytorch.js';
import { pytorchEmitDiagnostics } from '../check/keras-mask.js';
import { seqcVersion } from '../version.js';
import { type ParsedArgs } from './args.js';
import { emit, ExitCode, readText, report, usage, writeFileAtomically, type Io } from './io.js';

/** The languages `seqc emit` writes. */
export const emitTargets = ['pytorch'] as const;

export async function emitCommand(args: ParsedArgs, io: Io): Promise<number> {
  const [target, specPath, ...extra] = args.positionals;
  if (target === undefined || specPath === undefined || extra.length > 0)
    return usage(
      io,
      target === undefined || specPath === undefined
        ? '`seqc emit` needs a target and a .seq file: `seqc emit pytorch SPEC -o model.py`'
        : `\`seqc emit\` takes a target and one .seq file, found ${args.positionals.length} arguments`,
      'emit',
    );
  if (!(emitTargets as readonly string[]).includes(target)) {
    report(
      [
        error(
          'SEQ400',
          spanOfWhole('<command line>'),
          `\`seqc emit\` cannot write \`${target}\``,
          target === 'onnx'
            ? `\`seqc compile ${specPath}\` writes ONNX; \`seqc emit\` writes ${emitTargets.join(', ')}`
            : `targets: ${emitTargets.join(', ')}; for example \`seqc emit pytorch ${specPath} -o model.py\``,
          { found: target, expected: [...emitTargets] },
        ),
      ],
      new Map(),
      io,
    );
    return ExitCode.usage;
  }
  const out = args.flags.get('out')?.[0] ?? join(dirname(specPath), `${basename(specPath, extname(specPath))}.py`);
  const spec = readText(specPath, 'spec');
  if (spec.text === undefined) {
    report(spec.diagnostics, new Map(), io);
    return ExitCode.diagnostics;
  }
  const sources = new Map([[specPath, spec.text]]);
  const checked = checkSource(spec.text, { sourceName: specPath });
  report(checked.diagnostics, sources, io);
  if (checked.ir === undefined) return ExitCode.diagnostics;
  const keras = pytorchEmitDiagnostics(checked.ir);
  if (keras.length > 0) {
    report(keras, sources, io);
    return ExitCode.diagnostics;
  }
  const python = emitPytorch(checked.ir, {
    sourceText: spec.text,
    sourceName: basename(specPath),
    version: seqcVersion,
  });
  const failures = await writeFileAtomically(out, python, { inputs: [specPath] });
  if (failures.length > 0) {
    report(failures, sources, io);
    return ExitCode.diagnostics;
  }
  const parameters = checked.ir.parameters.length;
  emit(
    io,
    {
      file: out,
      target,
      model: checked.ir.name,
      className: pytorchClassName(checked.ir),
      parameters: checked.ir.parameters.map((p) => p.name),
    },
    `wrote ${out}: class ${pytorchClassName(checked.ir)}(torch.nn.Module), ${parameters} parameter tensors\n`,
  );
  return ExitCode.ok;
}
