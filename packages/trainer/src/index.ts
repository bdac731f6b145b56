/** @rmt/trainer — the training loops of RMT: pretrain, mid-train (RMT, RPT, NTP), post-train. */
export { AdamW, learningRateAt, type AdamWOptions, type AdamWState } from './optimizer.js';
export { BucketedBatches, padBatch, type TokenBatch } from './batches.js';
export { nextTokenStep, pretrain, type PretrainOptions } from './pretrain.js';
export { generateRows, rollout, type RolloutBatch, type RolloutSettings } from './rollout.js';
export { blockGradients, dualUpdate, type BlockRunner, type BlockValues, type NtpWindows, type RlRows, type UpdateBlock, type UpdateResult, type UpdateSettings } from './update.js';
export { ParallelWorkers } from './parallel.js';
export { listCheckpoints, loadCheckpoint, saveCheckpoint, STATE_FILE, type CheckpointInfo, type LoadedCheckpoint } from './checkpoint.js';
export { midtrain, TrainingDivergedError, type Method, type MidtrainInput, type MidtrainSettings } from './midtrain.js';
