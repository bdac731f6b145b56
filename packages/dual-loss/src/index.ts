// @rmt/dual-loss: see README.md. Filled by the issues that build it.
export {};
