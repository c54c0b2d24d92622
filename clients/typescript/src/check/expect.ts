/** Small assertions for the check program: each failure says what was expected. */
import { inspect, isDeepStrictEqual } from "node:util";

import { Code, ConnectError } from "@connectrpc/connect";

/** A check whose expectation the server did not meet. */
export class CheckFailed extends Error {}

export function check(condition: boolean, message: string): asserts condition {
  if (!condition) {
    throw new CheckFailed(message);
  }
}

export function checkEqual<T>(actual: T, expected: T, what: string): void {
  check(
    isDeepStrictEqual(actual, expected),
    `${what}: expected ${inspect(expected)}, got ${inspect(actual)}`,
  );
}

/** The ConnectError `call` failed with, checked to have `code`. */
export async function expectError(
  call: Promise<unknown>,
  code: Code,
  what: string,
): Promise<ConnectError> {
  try {
    await call;
  } catch (error) {
    const connectError = ConnectError.from(error);
    checkEqual(Code[connectError.code], Code[code], `${what}: status code`);
    return connectError;
  }
  throw new CheckFailed(`${what}: succeeded, expected ${Code[code]}`);
}
