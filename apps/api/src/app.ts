import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Clock, IdGen } from '@linkflow/domain';
import type { NodeRegistry } from '@linkflow/nodes';
import type { DeadLetterQueue } from '@linkflow/queue';
import type {
  CostReportRepository,
  CredentialStore,
  ChildExecutionStore,
  ExecutionRepository,
  LogRepository,
  RecoveryRepository,
  TenantDirectory,
  WorkflowRepository,
} from '@linkflow/store';
import type { ApiMetrics } from '@linkflow/telemetry';
import { registerAdminRoutes, type AdminDeps } from './admin/admin-routes.ts';
import { registerCredentialRoutes } from './credentials/credential-routes.ts';
import { installAuth, type Authenticator } from './auth/auth.ts';
import { registerExecutionRoutes, type ExecutionSignals } from './executions/execution-routes.ts';
import { registerLogRoutes } from './executions/log-routes.ts';
import type { EventHub } from './executions/stream/event-hub.ts';
import { installWebSocket, registerStreamRoutes } from './executions/stream/stream-routes.ts';
import type { WsConfig } from './config.ts';
import { registerCostRoutes } from './executions/cost-routes.ts';
import { registerExecutionMetricsRoute } from './executions/metrics-routes.ts';
import { registerRecoveryRoutes } from './executions/recovery-routes.ts';
import { registerTestRetryRoute } from './executions/test-retry-routes.ts';
import { RunnableCache, type Enqueuer } from './executions/start-execution.ts';
import { registerHealthRoutes, type Probe } from './health/health-routes.ts';
import { installErrorHandling, sendProblem } from './http/error-handler.ts';
import { installJsonBodyParser } from './http/json-body.ts';
import { installMetrics, type FleetMetricsSource } from './http/metrics-hooks.ts';
import { withSafeRequestLogs } from './http/request-log.ts';
import { installStorableTextCheck } from './http/storable-text.ts';
import { schemaController } from './http/validation.ts';
import { ProblemSchema } from './http/schemas.ts';
import { registerNodeTypeRoutes } from './workflows/node-type-routes.ts';
import { registerWorkflowRetryRoute } from './workflows/retry-routes.ts';
import { registerWorkflowRoutes } from './workflows/workflow-routes.ts';

/** Everything the API needs, built by main.ts (or a test). */
export interface AppDeps {
  readonly logger: FastifyBaseLogger;
  readonly bodyLimit: number;
  readonly authenticator: Authenticator;
  readonly workflows: WorkflowRepository;
  readonly executions: ExecutionRepository;
  /** Subworkflow child executions: links in the execution view, the cancel cascade. */
  readonly children: ChildExecutionStore;
  readonly tenants: TenantDirectory;
  /** The tenant's credentials (values encrypted; writes need LINKFLOW_SECRETS_KEY). */
  readonly credentials: CredentialStore;
  readonly logs: LogRepository;
  /** Live events of executions for the log streams (one Redis subscriber per process). */
  readonly hub: EventHub;
  readonly ws: WsConfig;
  readonly recovery: RecoveryRepository;
  /** Per-execution cost and the cost report. */
  readonly costs: CostReportRepository;
  /** The dead-letter queue: a recovered execution's entry is removed. */
  readonly deadLetters: Pick<DeadLetterQueue, 'remove'>;
  readonly registry: NodeRegistry;
  readonly queue: Enqueuer;
  readonly signals: ExecutionSignals;
  readonly probes: Readonly<Record<string, Probe>>;
  readonly metrics: ApiMetrics;
  /** The `/metrics` text; defaults to this process's registry (a cluster worker merges all). */
  readonly scrape?: (() => Promise<string>) | undefined;
  /** The executors' metrics, appended to `/metrics` (see `installMetrics`). */
  readonly fleet?: FleetMetricsSource | undefined;
  readonly ids: IdGen;
  readonly clock: Clock;
  /** Queues, DLQ and worker registry for `/api/admin/*`; closed with the app. */
  readonly admin: AdminDeps;
}

async function installDocs(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'LinkFlow API',
        version: '0.1.0',
        description: 'Workflow automation: workflows, executions, logs.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    // Shared schemas keep their $id as the component name (#/components/schemas/Problem).
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) =>
        typeof json['$id'] === 'string' ? json['$id'] : `def-${i}`,
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
}

/** Builds a ready Fastify instance without listening (main.ts owns the process). */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: withSafeRequestLogs(deps.logger),
    bodyLimit: deps.bodyLimit,
    requestIdHeader: 'x-request-id',
    genReqId: () => deps.ids.next(),
    ajv: {
      customOptions: {
        removeAdditional: false,
        coerceTypes: 'array',
        useDefaults: true,
        allErrors: true,
      },
    },
    schemaController,
    // Router-level errors (param over maxParamLength, malformed URL) skip the error handler.
    frameworkErrors: (error, request, reply) => {
      sendProblem(request, reply, error);
    },
  });
  installErrorHandling(app);
  const streams = await installWebSocket(app);
  // The API speaks JSON only: anything else is 415, not a string body.
  app.removeContentTypeParser(['text/plain']);
  installJsonBodyParser(app);
  installStorableTextCheck(app);
  app.addSchema(ProblemSchema);
  await installDocs(app);
  installAuth(app, deps.authenticator);
  installMetrics(app, deps.metrics, { scrape: deps.scrape, fleet: deps.fleet });
  registerHealthRoutes(app, deps.probes);
  const workflowDeps = {
    workflows: deps.workflows,
    catalog: deps.registry,
    tenants: deps.tenants,
    credentials: deps.credentials,
  };
  registerCredentialRoutes(app, deps);
  registerWorkflowRoutes(app, workflowDeps);
  registerWorkflowRetryRoute(app, workflowDeps);
  registerNodeTypeRoutes(app, deps.registry);
  registerExecutionRoutes(app, { ...deps, catalog: deps.registry, runnable: new RunnableCache() });
  registerLogRoutes(app, deps);
  registerStreamRoutes(app, { ...deps, streams });
  registerExecutionMetricsRoute(app, deps);
  registerCostRoutes(app, deps);
  registerRecoveryRoutes(app, deps);
  registerTestRetryRoute(app, deps);
  registerAdminRoutes(app, deps.admin);
  app.addHook('onClose', async () => {
    await Promise.allSettled([deps.admin.queues.close(), deps.admin.dlq.close()]);
  });
  await app.ready();
  return app;
}
