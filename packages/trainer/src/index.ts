/** @rmt/trainer — the training loops of RMT: pretrain, mid-train (RMT, RPT, NTP), post-train. */
export {
  methodSwitches,
  midtrainConfigSchema,
  optimizerConfigSchema,
  posttrainConfigSchema,
  posttrainSettings,
  pretrainConfigSchema,
  scheduleConfigFields,
  type Method,
  type MidtrainConfig,
  type MidtrainConfigInput,
  type MidtrainSettings,
  type OptimizerConfig,
  type PosttrainConfig,
  type PretrainConfig,
} from './config.js';
export { AdamW, learningRateAt, type AdamWOptions, type AdamWState } from './optimizer.js';
export { BucketedBatches, padBatch, type TokenBatch } from './batches.js';
export { nextTokenStep, pretrain, type PretrainOptions } from './pretrain.js';
export { completionLogProbs, generateRows, rollout, type RolloutBatch, type RolloutSettings } from './rollout.js';
export { dualUpdate, type NtpWindows, type RlRows, type UpdateResult, type UpdateSettings } from './update.js';
export { ParallelWorkers } from './parallel.js';
export {
  listCheckpoints,
  loadCheckpoint,
  saveCheckpoint,
  STATE_FILE,
  type CheckpointInfo,
  type LoadedCheckpoint,
} from './checkpoint.js';
export { midtrain, NoLearningSignalError, TrainingDivergedError, type MidtrainInput } from './midtrain.js';
export { preflight, PreflightError, preflightSummary, type PreflightInput, type PreflightReport } from './preflight.js';
