export * from './errors/app-error.ts';
export * from './errors/error-types.ts';
export * from './errors/domain-errors.ts';
export * from './result.ts';
export * from './ports.ts';
