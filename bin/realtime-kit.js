#!/usr/bin/env node
// The kit is TypeScript end to end; tsx compiles it on the fly so `npx realtime-kit` needs no build step.
require("tsx/cjs");
require("../cli/main.ts");
