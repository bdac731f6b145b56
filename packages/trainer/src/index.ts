/** @rmt/trainer — the training loops of RMT: pretrain, mid-train (RMT, RPT, NTP), post-train. */
export { AdamW, learningRateAt, type AdamWOptions, type AdamWState } from './optimizer.js';
export { BucketedBatches, padBatch, type TokenBatch } from './batches.js';
export { nextTokenStep, pretrain, type PretrainOptions } from './pretrain.js';
