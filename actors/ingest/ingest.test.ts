import { test } from "uvu";
import * as assert from "uvu/assert";
import { acceptedBody } from "./ingest.ts";

test("the 202's body is what JSON.stringify writes, for ingest's ids and keys that need escaping alike", () => {
  const ids = ["b:k3x9q1ab-1a", "idem:clicks:order-17", "idem:clicks:a.b_c:d", "", 'idem:s:say "hi"', "idem:s:back\\slash", "idem:s:\u0001", "idem:s:é", "idem:s:a/b", "idem:s:<tag>"];
  for (const batchId of ids) {
    for (const [accepted, duplicate] of [[1, false], [10_000, true]] as const) {
      const body = acceptedBody(accepted, batchId, duplicate);
      assert.is(body, JSON.stringify({ accepted, batchId, duplicate }), batchId);
      assert.equal(JSON.parse(body), { accepted, batchId, duplicate });
    }
  }
});

test.run();
