/**
 * The Node adapter's last resort for direct routes (node_direct_routes.ts): a handler that
 * rejects, or an answer node:http refuses to write, is answered 500 problem+json rather than
 * left hanging or ending the process with an unhandled rejection; and the connection goes on
 * serving. An answer that fails after its head went out closes its connection. (The edge's wrapping answers handlers' errors itself: this is what is left when it
 * does not.) Node only: Deno's adapter takes no direct routes.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { currentPlatform } from "./current.ts";
import { serveDirectRoutes } from "./node_direct_routes.ts";
import type { DirectRoute } from "../http/direct_route.ts";

const platform = await currentPlatform();

if (platform.name === "node") {
  test("a rejecting handler and an answer node:http refuses get a 500 problem; the connection serves the next request", async () => {
    const route = (path: string, handle: DirectRoute["handle"]): DirectRoute => ({ method: "GET", route: path, match: (p) => (p === path ? {} : undefined), handle });
    const server = http.createServer((_req, res) => res.writeHead(404).end("fallback"));
    serveDirectRoutes(server, [
      route("/throws", () => Promise.reject(new Error("handler failed"))),
      route("/bad-header", async () => ({ status: 200, headers: { "x-bad": "line\nbreak" }, body: "never sent" })),
      route("/ok", async () => ({ status: 200, headers: { "content-type": "text/plain" }, body: "fine" })),
    ]);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = (path: string) =>
      new Promise<{ status: number; type: string | undefined; body: string }>((resolve, reject) => {
        http.get(`${base}${path}`, { agent, headers: { host: "localhost" } }, (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (chunk) => (body += chunk));
          res.on("end", () => resolve({ status: res.statusCode!, type: res.headers["content-type"], body }));
        }).on("error", reject);
      });
    try {
      for (const path of ["/throws", "/bad-header"]) {
        const answer = await get(path);
        assert.is(answer.status, 500, path);
        assert.is(answer.type, "application/problem+json", path);
        assert.is(JSON.parse(answer.body).title, "Internal error", path);
      }
      assert.equal(await get("/ok"), { status: 200, type: "text/plain", body: "fine" }, "the same kept-alive connection serves on");
      assert.is((await get("/elsewhere")).body, "fallback", "an unmatched path goes to the server's own listener");
      // Writing fails after the head went out (the body reads once for its length, then throws):
      // no 500 can replace it, so the connection is closed rather than left waiting.
      let reads = 0;
      const failing = { status: 200, headers: { "content-type": "text/plain" }, get body(): string {
        if (++reads > 1) throw new Error("body gone");
        return "sized";
      } };
      server.removeAllListeners("request");
      serveDirectRoutes(server, [route("/fails-after-head", async () => failing)]);
      const outcome = await new Promise<string>((resolve) => {
        const timer = setTimeout(() => resolve("still waiting after 3 s"), 3_000);
        http.get(`${base}/fails-after-head`, { headers: { host: "localhost" } }, (res) => {
          res.on("data", () => {});
          res.on("end", () => (clearTimeout(timer), resolve("ended")));
          res.on("error", () => (clearTimeout(timer), resolve("closed")));
        }).on("error", () => (clearTimeout(timer), resolve("closed")));
      });
      assert.is(outcome, "closed", "the connection is closed, the answer cut short");
    } finally {
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
}

test.run();
