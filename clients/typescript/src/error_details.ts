/**
 * The google.rpc error details newswire sends with a refused call: a
 * `google.rpc.Status` in the `grpc-status-details-bin` trailer, whose
 * details name, for bad input, each offending field in a
 * `google.rpc.BadRequest`.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { base64Decode } from "@bufbuild/protobuf/wire";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { ConnectError } from "@connectrpc/connect";

import { BadRequestSchema, type BadRequest } from "./gen/google/rpc/error_details_pb.js";
import { StatusSchema, type Status } from "./gen/google/rpc/status_pb.js";

/** The trailer gRPC servers put a binary google.rpc.Status in. */
export const STATUS_DETAILS_TRAILER = "grpc-status-details-bin";

/**
 * The google.rpc.Status of a failed call, decoded from its trailer, or
 * undefined when the server sent none.
 */
export function statusOf(error: ConnectError): Status | undefined {
  const encoded = error.metadata.get(STATUS_DETAILS_TRAILER);
  if (encoded === null) {
    return undefined;
  }
  // `-bin` metadata is base64, padded or not; base64Decode takes both.
  return fromBinary(StatusSchema, base64Decode(encoded));
}

/** The google.rpc.BadRequest among a failed call's details, if any. */
export function badRequestOf(error: ConnectError): BadRequest | undefined {
  for (const detail of statusOf(error)?.details ?? []) {
    const badRequest = anyUnpack(detail, BadRequestSchema);
    if (badRequest !== undefined) {
      return badRequest;
    }
  }
  return undefined;
}
