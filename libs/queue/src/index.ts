export * from './queue-errors.ts';
export * from './queue-operation.ts';
export * from './redis-connection.ts';
export * from './job-catalog.ts';
export * from './execution-queue.ts';
export * from './dead-letter-queue.ts';
export * from './channels.ts';
