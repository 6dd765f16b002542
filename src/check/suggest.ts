// The checker's "did you mean …?" helpers; they live with the diagnostics so that the parser can use them too.

export { closest, didYouMean, editDistance } from '../diagnostics/suggest.js';
