#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader, wherever the command is started from.
import { register } from "tsx/esm/api";

register();
await import("../src/cli/main.ts");
