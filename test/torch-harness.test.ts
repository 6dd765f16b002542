// The PyTorch oracle harness itself: Python's answers come back as JSON, and its failures fail the test.

import { describe, expect, it } from 'vitest';
import { runPython, torchAvailable } from './torch/python.js';

describe.skipIf(!torchAvailable())('PyTorch oracle harness', () => {
  it('returns what the script prints, computed by torch', () => {
    const out = runPython<number[]>(
      'import json, sys, torch\nx = json.load(sys.stdin)\nprint(json.dumps(torch.tensor(x).cumsum(0).tolist()))',
      [1, 2, 3],
    );
    expect(out).toEqual([1, 3, 6]);
  });

  it("throws with Python's own error message when the script fails", () => {
    expect(() => runPython('raise ValueError("boom")')).toThrow(/ValueError: boom/);
  });
});
