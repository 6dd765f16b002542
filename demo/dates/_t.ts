import { makeSplits, sourceVocabulary } from './data.js';
const s = makeSplits();
console.log(sourceVocabulary.length, s.train.length);
for (const e of s.heldOut.slice(0, 20)) console.log(e.text, '=>', e.iso, e.src.length);
console.log(Math.max(...s.train.map(e => e.src.length)), Math.max(...s.heldOut.map(e=>e.src.length)));
const trainTexts = new Set(s.train.map(e => e.iso)); console.log('overlap', s.heldOut.filter(e => trainTexts.has(e.iso)).length);
