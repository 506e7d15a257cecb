/**
 * Direct routes: routes an HTTP adapter may answer straight from its server's request, without
 * the Web-standard Request and Response objects and the framework's dispatch around them (why:
 * README, HTTP and WebSocket API). An adapter that does not take them (Deno's) leaves them to
 * `fetch`, which serves every route too. A direct route's handler is written against the small
 * DirectRequest below and returns a PlainAnswer; its Hono route wraps the same handler.
 */
import type { PlainAnswer } from "./answer.ts";

/** What a direct route's handler reads of a request. */
export interface DirectRequest {
  method: string;
  /** The path, without the query. */
  path: string;
  /** The route's parameters, from DirectRoute.match. */
  params: Record<string, string>;
  /** A header's value as `Headers.get` gives it (repeated ones joined with ", "), or undefined. */
  header(name: string): string | undefined;
  /** The body, at most `maxBytes` (else BodyTooLargeError); read once. */
  readBody(maxBytes: number): Promise<Uint8Array>;
}

export interface DirectRoute {
  method: string;
  /** The route's pattern as the framework knows it ("/v1/streams/:stream/events"), for metrics. */
  route: string;
  /**
   * The parameters if this route takes `path` as it stands; undefined leaves the request to
   * `fetch`. Only paths the framework would route to this route, with the same parameters, may
   * match: anything in doubt goes to `fetch` (a route matches only the plainest form of its
   * path: for ingest, a valid stream name, so every invalid one is answered by Hono).
   */
  match(path: string): Record<string, string> | undefined;
  /** The answer. Adapters get the edge's wrapping of each handler, which answers an error as a 500 rather than throw. */
  handle(request: DirectRequest): Promise<PlainAnswer>;
}
