/**
 * Direct routes: routes an HTTP adapter may answer straight from its server's request, without
 * the Web-standard Request and Response objects and the framework's dispatch around them. On
 * Node those cost more than the rest of a one-event ingest request's handling on its thread
 * (the edge's POST of events is one); an adapter that does not take them (Deno's) leaves them
 * to `fetch`, which serves every route too. A direct route's handler is written against the
 * small DirectRequest below and returns a PlainAnswer; its Hono route wraps the same handler.
 */

/** A plain HTTP answer: status, headers and a text body. */
export interface PlainAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

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
   * match: anything in doubt (percent-escapes, dot segments) goes to `fetch`.
   */
  match(path: string): Record<string, string> | undefined;
  /** The answer; a handler does not throw (the edge wraps each one to answer errors as 500). */
  handle(request: DirectRequest): Promise<PlainAnswer>;
}

export function toResponse(answer: PlainAnswer): Response {
  return new Response(answer.body, { status: answer.status, headers: answer.headers });
}
