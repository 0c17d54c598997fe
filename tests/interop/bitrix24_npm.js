// Drives `sim bitrix24` through its inbound-webhook URL with a third-party client from npm,
// @2bad/bitrix (got + qs: GET requests with PHP bracket queries; a 2 req/s queue per client).
// Run by bitrix24_npm.sh, which installs the pinned package and starts the simulator with 120
// deals. Exits non-zero on the first failed check.
"use strict";

const assert = require("node:assert/strict");
const { Bitrix } = require("@2bad/bitrix");

// The library wants the webhook base without the trailing slash.
const webhook = process.env.SIM_WEBHOOK.replace(/\/$/, "");
assert.match(webhook, /^http:\/\/127\.0\.0\.1:\d+\/rest\/1\/[0-9a-f]+$/);
// See the 503s as they come; and nothing waits for ever (got has no timeout of its own).
const noRetry = { retry: { limit: 0 }, timeout: { request: 30000 } };

async function main() {
  const portal = Bitrix(webhook, undefined, noRetry);

  // Paging: one list call, then batch for the remaining pages (the library's own strategy).
  const all = await portal.deals.list({ select: ["ID", "TITLE", "STAGE_ID"], order: { ID: "ASC" } });
  assert.equal(all.result.length >= 120, true, `listed ${all.result.length} deals`);
  const ids = new Set(all.result.map((d) => d.ID));
  assert.equal(ids.size, 120, "every deal once");
  assert.equal(typeof all.result[0].ID, "string", "crm.deal fields are strings");

  const page = await portal.call("crm.deal.list", { start: 50, order: { ID: "ASC" } });
  assert.equal(page.result.length, 50);
  assert.equal(page.total, 120);
  assert.equal(page.next, 100);
  const fast = await portal.call("crm.deal.list", { start: -1, filter: { ">ID": 100 }, order: { ID: "ASC" } });
  assert.equal(fast.result.length, 20);
  assert.equal(fast.total, undefined, "start=-1 counts nothing");

  // Get one, move its stage within its pipeline, read it back.
  const one = await portal.deals.get("5");
  assert.equal(one.result.ID, "5");
  const stages = await portal.call("crm.status.list", {
    filter: { ENTITY_ID: one.result.CATEGORY_ID === "0" ? "DEAL_STAGE" : `DEAL_STAGE_${one.result.CATEGORY_ID}` },
  });
  const target = stages.result.find((s) => s.STATUS_ID !== one.result.STAGE_ID && s.SEMANTICS === null);
  const updated = await portal.deals.update("5", { STAGE_ID: target.STATUS_ID });
  assert.equal(updated.result, true);
  const again = await portal.deals.get("5");
  assert.equal(again.result.STAGE_ID, target.STATUS_ID);

  // batch: named commands, result_error [] when all succeed.
  const batch = await portal.batch({
    deal: { method: "crm.deal.get", params: { ID: "7" } },
    users: { method: "user.get", params: {} },
  });
  assert.equal(batch.result.result.deal.ID, "7");
  assert.equal(Array.isArray(batch.result.result.users), true);
  assert.deepEqual(batch.result.result_error, []);
  // A failing sub-call makes the library throw with the portal's result_error.
  await assert.rejects(
    portal.batch({ missing: { method: "crm.deal.get", params: { ID: "9999" } } }),
    /failed to process/,
  );

  // Flood: many clients (each with its own 2 req/s queue) share the portal's bucket of 50.
  // 90 requests overflow it unless they take over 20 s (2/s drain): even a sanitized simulator
  // on a loaded machine is faster than that; 60 were not always (ASan, 6 tests at once).
  const clients = Array.from({ length: 30 }, () => Bitrix(webhook, undefined, noRetry));
  const floodStart = Date.now();
  const outcomes = await Promise.allSettled(
    clients.flatMap((c) => [c.call("user.get", {}), c.call("user.get", {}), c.call("user.get", {})]),
  );
  const refused = outcomes.filter(
    (o) => o.status === "rejected" && o.reason.response && o.reason.response.statusCode === 503,
  );
  const summary = outcomes.map((o) =>
    o.status === "fulfilled" ? "200" : o.reason.response ? String(o.reason.response.statusCode) : o.reason.code);
  assert.equal(refused.length > 0, true, `the flood got no 503: ${summary.join(" ")}`);
  assert.equal(refused[0].reason.response.body.error, "QUERY_LIMIT_EXCEEDED");
  const passed = outcomes.filter((o) => o.status === "fulfilled").length;
  // No more than the bucket holds, plus what drained (2/s) while the flood ran.
  const drained = 2 * Math.ceil((Date.now() - floodStart) / 1000 + 1);
  assert.equal(passed <= 50 + drained, true, `${passed} passed: more than the bucket holds`);
  assert.equal(passed + refused.length, outcomes.length, "every failure was a 503");
  console.log(`bitrix24_npm.js: ok (${passed} passed, ${refused.length} refused with 503)`);
}

main().catch((error) => {
  console.error("bitrix24_npm.js: FAILED:", error && error.stack ? error.stack : error);
  process.exit(1);
});
