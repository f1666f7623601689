/** The `code` node: user JavaScript in a QuickJS/WebAssembly sandbox, off the event loop. */
export {
  createCodeNode,
  codeConfigSchema,
  MAX_SOURCE_LENGTH,
  type CodeConfig,
  type CodeNode,
  type CodeNodeOptions,
} from './code-node.ts';
export {
  SandboxPool,
  type SandboxJob,
  type SandboxPoolOptions,
  type SandboxPoolStats,
} from './sandbox-pool.ts';
export { SyntaxChecker } from './syntax-checker.ts';
export type {
  CheckReply,
  CheckRequest,
  RunReply,
  RunRequest,
  SandboxFailure,
  SandboxFailureType,
  SandboxLogLine,
  SandboxUsage,
} from './sandbox-protocol.ts';
export { isCheckReply, isRunnerMessage, spawnSandboxWorker } from './sandbox-protocol.ts';
