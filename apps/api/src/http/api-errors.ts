import { AppError, type FieldProblem } from '@linkflow/domain';

/** The API layer's error catalog. Each call builds a fresh instance. */
export const apiErrors = {
  unauthorized: () =>
    new AppError('UNAUTHORIZED', 'a valid API key is required (Authorization: Bearer <key>)', {
      kind: 'unauthorized',
    }),
  forbidden: (scope: string) =>
    new AppError('FORBIDDEN', `this API key lacks the '${scope}' scope`, {
      kind: 'forbidden',
      details: { scope },
    }),
  notFound: (what: string, id: string) =>
    new AppError('NOT_FOUND', `${what} '${id}' not found`, { kind: 'not_found' }),
  invalidRequest: (problems: readonly FieldProblem[]) =>
    new AppError('INVALID_REQUEST', 'request is invalid', { kind: 'user', problems }),
  workflowBusy: (id: string) =>
    new AppError('WORKFLOW_BUSY', `workflow '${id}' has pending or running executions`, {
      kind: 'conflict',
    }),
  workflowChanging: (id: string) =>
    new AppError('WORKFLOW_CHANGING', `workflow '${id}' kept changing meanwhile: retry`, {
      kind: 'conflict',
      retryable: true,
    }),
  idempotencyConflict: () =>
    new AppError(
      'IDEMPOTENCY_CONFLICT',
      'this idempotency key was already used with a different request body',
      { kind: 'conflict' },
    ),
  executionTerminal: (id: string, status: string) =>
    new AppError('EXECUTION_TERMINAL', `execution '${id}' is already ${status}`, {
      kind: 'conflict',
      details: { status },
    }),
  notRecoverable: (id: string, refusal: { status: string; leaseLive: boolean; purged: boolean }) =>
    new AppError(
      'EXECUTION_NOT_RECOVERABLE',
      refusal.purged
        ? `execution '${id}' is ${refusal.status} and retention purged its node runs: nothing to resume from`
        : refusal.leaseLive
          ? `execution '${id}' is running and its worker holds a live lease`
          : `execution '${id}' is ${refusal.status}: only failed or abandoned running executions recover`,
      { kind: 'conflict', details: { status: refusal.status } },
    ),
  workflowNotRunnable: (problems: readonly FieldProblem[]) =>
    new AppError(
      'WORKFLOW_NOT_RUNNABLE',
      'workflow uses node types or settings this server does not allow',
      { kind: 'unprocessable', problems },
    ),
  queueUnavailable: () =>
    new AppError('QUEUE_UNAVAILABLE', 'the execution queue is unavailable; retry later', {
      kind: 'unavailable',
      retryable: true,
    }),
  originNotAllowed: (origin: string) =>
    new AppError('ORIGIN_NOT_ALLOWED', `origin '${origin}' may not open this stream`, {
      kind: 'forbidden',
      details: { origin },
    }),
  tooManyStreams: (limit: number) =>
    new AppError(
      'TOO_MANY_STREAMS',
      `this tenant already holds ${limit} open log streams on this server; close one first`,
      { kind: 'too_many_requests', details: { limit } },
    ),
  upgradeRequired: () =>
    new AppError('UPGRADE_REQUIRED', 'this route is a WebSocket: send an upgrade request', {
      kind: 'user',
    }),
  credentialExists: (name: string) =>
    new AppError('CREDENTIAL_EXISTS', `a credential named '${name}' already exists`, {
      kind: 'conflict',
    }),
  credentialInUse: (name: string, workflowIds: readonly string[]) =>
    new AppError(
      'CREDENTIAL_IN_USE',
      `credential '${name}' is referenced by the latest version of workflow(s) ${workflowIds.join(', ')}`,
      { kind: 'conflict', details: { workflows: workflowIds } },
    ),
  routeWithoutScope: (route: string) =>
    new AppError('ROUTE_WITHOUT_SCOPE', `route ${route} declares no scope`, { kind: 'internal' }),
};
