import { AppError, type FieldProblem } from './app-error.ts';

/** Catalog of domain-layer errors. Each call builds a fresh instance (never reuse one). */
export const domainErrors = {
  invalidWorkflow: (problems: readonly FieldProblem[]) =>
    new AppError('INVALID_WORKFLOW', 'workflow definition is invalid', {
      kind: 'unprocessable',
      problems,
    }),
  illegalTransition: (from: string, event: string) =>
    new AppError('ILLEGAL_TRANSITION', `cannot ${event} an execution that is ${from}`, {
      kind: 'conflict',
      details: { from, event },
    }),
  expressionInvalid: (expression: string, message: string) =>
    new AppError('EXPRESSION_INVALID', `expression does not parse: ${message}`, {
      kind: 'user',
      details: { expression },
    }),
};
