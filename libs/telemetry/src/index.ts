export * from './telemetry-errors.ts';
export * from './logger.ts';
export * from './metrics.ts';
export * from './capped-gauge.ts';
export * from './tracing.ts';
export * from './startup.ts';
export * from './health-server.ts';
