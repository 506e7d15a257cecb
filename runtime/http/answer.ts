/** A plain HTTP answer (status, headers, a text body): what a direct route returns, and a Response made of one. */
export interface PlainAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export function toResponse(answer: PlainAnswer): Response {
  return new Response(answer.body, { status: answer.status, headers: answer.headers });
}
