// The seqc version recorded in every compiled model.

export const seqcVersion = '0.1.0';
