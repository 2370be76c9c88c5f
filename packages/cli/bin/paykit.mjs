#!/usr/bin/env node
// The paykit command. In the workspace it runs the TypeScript source through tsx.
import { register } from "tsx/esm/api";

register();
await import("../src/main.ts");
