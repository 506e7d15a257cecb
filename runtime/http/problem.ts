/**
 * RFC 9457 problem details: every error at an HTTP edge is `application/problem+json` with a
 * `type`, a `title`, the `status`, a `detail` a person can act on, and, for invalid input, an
 * `errors` list of `{pointer, detail}` naming each offending field.
 */
import { toResponse, type PlainAnswer } from "./answer.ts";

export interface ProblemFieldError {
  /** JSON Pointer into the request, e.g. "/events/3/key". */
  pointer: string;
  detail: string;
}

export interface Problem {
  type?: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  errors?: ProblemFieldError[];
  [extension: string]: unknown;
}

const typeBase = "https://trendwire.dev/problems/";

/** The problem's JSON body, with its `type` (from the title unless given). */
export function problemJson(p: Problem): string {
  return JSON.stringify({ type: p.type ?? `${typeBase}${p.title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`, ...p });
}

/** An unexpected failure while answering (the edge's error handlers, the Node adapter's last resort). */
export const internalError: Problem = Object.freeze({
  title: "Internal error",
  status: 500,
  detail: "the request failed unexpectedly; nothing was accepted unless a 202 was returned",
});

export function problemAnswer(p: Problem, headers: Record<string, string> = {}): PlainAnswer {
  return { status: p.status, headers: { "content-type": "application/problem+json", ...headers }, body: problemJson(p) };
}

export function problem(p: Problem, headers: Record<string, string> = {}): Response {
  return toResponse(problemAnswer(p, headers));
}

/** 429/503 with Retry-After in whole seconds (at least 1). */
export function retryLaterAnswer(status: 429 | 503, title: string, detail: string, retryAfterMs: number): PlainAnswer {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return problemAnswer({ title, status, detail, retryAfter: seconds }, { "retry-after": String(seconds) });
}
