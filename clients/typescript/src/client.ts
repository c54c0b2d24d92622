/**
 * A newswire client over gRPC (HTTP/2), generated from `proto/`: the
 * service descriptor comes from protoc-gen-es, the calls from
 * @connectrpc/connect, the HTTP/2 transport from @connectrpc/connect-node.
 */
import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";

import { ArticleService } from "./gen/newswire/v1/article_service_pb.js";

/** Every RPC of `newswire.v1.ArticleService` as an async method. */
export type ArticleServiceClient = Client<typeof ArticleService>;

/** Where the server is and who the caller is. */
export interface ClientOptions {
  /** `http://HOST:PORT` (h2c) or `https://HOST:PORT` (TLS). */
  baseUrl: string;
  /** The caller's bearer token; without one, only open methods answer. */
  token?: string;
}

/**
 * Adds `authorization: Bearer TOKEN` to every call: newswire's gate
 * authenticates each call by this header, not by the connection.
 */
export function bearerToken(token: string): Interceptor {
  return (next) => (request) => {
    request.header.set("authorization", `Bearer ${token}`);
    return next(request);
  };
}

/** A client of newswire's ArticleService speaking gRPC over HTTP/2. */
export function createArticleServiceClient(options: ClientOptions): ArticleServiceClient {
  const transport = createGrpcTransport({
    baseUrl: options.baseUrl,
    interceptors: options.token === undefined ? [] : [bearerToken(options.token)],
  });
  return createClient(ArticleService, transport);
}
