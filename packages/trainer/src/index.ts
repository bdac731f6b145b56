// @rmt/trainer: see README.md. Filled by the issues that build it.
export {};
