// Types for tools/hf-tiny.mjs, so TypeScript tests can import it.
export type TinyFamily = 'llama3' | 'smollm2' | 'qwen2' | 'qwen3';
export interface TinyTensor {
  data: Float32Array;
  shape: number[];
}
export const FAMILIES: Record<TinyFamily, Record<string, unknown>>;
export function tensorPlan(config: Record<string, unknown>): [string, number[], string][];
export function safetensorsBytes(tensors: Map<string, TinyTensor>, dtype?: 'f32' | 'bf16' | 'f16'): Uint8Array;
export function writeTinyHfFolder(
  dir: string,
  options?: {
    family?: TinyFamily;
    seed?: number;
    dtype?: 'f32' | 'bf16' | 'f16';
    shards?: number;
    overrides?: Record<string, unknown>;
    tokenizer?: boolean;
  },
): { config: Record<string, unknown>; tensors: Map<string, TinyTensor> };
export const TOKENIZERS: Record<
  TinyFamily,
  { top?: boolean; added: [number, string, boolean][]; config: Record<string, unknown> }
>;
/** tokenizer.json and tokenizer_config.json of a family's tiny byte-level BPE for `vocabSize` ids. */
export function tinyTokenizer(
  family: TinyFamily,
  vocabSize: number,
): { json: Record<string, unknown>; config: Record<string, unknown> };
