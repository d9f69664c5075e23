// Deadlines for the waits of tests: a message, an association or anything else that does not
// come in time fails the test with what it waited for, instead of waiting forever.

import type {
  Association,
  AssociationEvent,
  AssociationListener,
  ReceivedMessage,
} from "../../transport/types.ts";

/** Default deadline of one wait: long for loopback, even on a slow or loaded machine. */
export const DEADLINE = 10_000;

/**
 * `promise`, or a rejection naming `what` after `timeout` ms (then `onTimeout` runs, to end
 * whatever would still be waiting).
 */
export async function within<T>(
  promise: Promise<T>,
  what: string,
  timeout = DEADLINE,
  onTimeout?: () => void,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`No ${what} in ${timeout} ms`));
      onTimeout?.();
    }, timeout);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The next message of `association` (null when it ends), or a rejection after `timeout` ms,
 * when the association is aborted.
 */
export function receiveWithin(
  association: Association,
  timeout = DEADLINE,
  what = "message",
): Promise<ReceivedMessage | null> {
  return within(association.receive(), what, timeout, () => association.abort("Test deadline"));
}

/** The next association of `listener`, or a rejection after `timeout` ms. */
export function acceptWithin(
  listener: AssociationListener,
  timeout = DEADLINE,
): Promise<Association | null> {
  return within(listener.accept(), "association accepted", timeout);
}

/**
 * The first event of `association` that is not `communication-up` (how it ended), or a
 * rejection after `timeout` ms.
 */
export function ending(association: Association, timeout = DEADLINE): Promise<AssociationEvent> {
  return within(
    new Promise((resolve) => {
      const off = association.onEvent((e) => {
        if (e.type === "communication-up") return;
        off();
        resolve(e);
      });
    }),
    "end of the association",
    timeout,
  );
}
