import { setMaxListeners } from 'node:events';

/**
 * An AbortController whose signal is a fan-out point: every node, lane or scope running under
 * it at once adds an abort listener (up to an execution's `max_concurrency`, which may be
 * 1,000), and each removes its own when it settles. Node's leak warning (more than 10
 * listeners on one signal) is switched off for it: it would fire on every loop wider than 10
 * and name a leak that is not there. The engine's `signal-listeners.test.ts` checks that no
 * listener outlives a run.
 */
export function sharedAbortController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}
