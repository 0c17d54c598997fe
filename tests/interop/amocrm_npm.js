// Drives `funnelguard sim amocrm` over HTTPS with two third-party amoCRM clients from npm:
//   @shevernitskiy/amo (global fetch; takes "host:port" and prepends https://)
//   amocrm-js (https.request; sends bodies chunked, without Content-Length)
// Run by amocrm_npm.sh, which installs the pinned packages, starts the simulator with a
// throwaway CA and sets NODE_EXTRA_CA_CERTS. Usage:
//   node amocrm_npm.js trusted   # everything works; exits non-zero on the first failed check
//   node amocrm_npm.js untrusted # run without the CA: both libraries must fail verification
"use strict";

const assert = require("node:assert/strict");
const https = require("node:https");

const { Amo } = require("@shevernitskiy/amo");
const { Client: AmoCrmJs } = require("amocrm-js");

const base = new URL(process.env.SIM_URL); // https://127.0.0.1:PORT
const token = process.env.SIM_TOKEN;
assert.equal(base.protocol, "https:", "the simulator must serve HTTPS here");

function shevernitskiy() {
  // A long-lived token given as the OAuth pair the library keeps; expires_at far ahead so
  // it never tries to refresh.
  return new Amo(
    base.host,
    {
      client_id: "sim-client-id",
      client_secret: "sim-client-secret",
      redirect_uri: "https://funnelguard.example/amocrm/oauth",
      token_type: "Bearer",
      expires_in: 86400,
      access_token: token,
      refresh_token: "unused",
      expires_at: Date.now() + 365 * 86400 * 1000,
    },
    { request_delay: 0 },
  );
}

function amocrmJs() {
  // amocrm-js builds "https://<domain>" with no port; the agent's defaultPort supplies it.
  https.globalAgent.defaultPort = Number(base.port);
  return new AmoCrmJs({
    domain: base.hostname, // contains a dot, so it is used as the host as is
    auth: {
      client_id: "sim-client-id",
      client_secret: "sim-client-secret",
      redirect_uri: "https://funnelguard.example/amocrm/oauth",
      bearer: token,
    },
  });
}

async function expectNoContent(promise, what) {
  await assert.rejects(promise, (error) => {
    // The package's errors are ES5-compiled subclasses of Error, so instanceof does not see
    // NoContentError; its message starts with the status.
    assert.match(String(error?.message), /^204 /, `${what}: expected a 204, got ${error}`);
    return true;
  });
}

let checks = 0;
async function step(name, fn) {
  await fn();
  checks += 1;
  console.log(`ok ${checks} - ${name}`);
}

async function trusted() {
  const amo = shevernitskiy();
  let pipelines;
  let lead_id;
  const hook = `http://127.0.0.1:9/hooks/amocrm/npm/${Date.now()}`;

  await step("account with users_groups, task_types, datetime_settings", async () => {
    const account = await amo.account.getAccount({
      with: ["users_groups", "task_types", "datetime_settings", "amojo_id"],
    });
    assert.equal(typeof account.id, "number");
    assert.equal(account.subdomain, "sim");
    assert.deepEqual(account._embedded.users_groups, [{ id: 0, name: "Отдел продаж", uuid: null }]);
    assert.equal(account._embedded.task_types.length, 2);
    assert.equal(account._embedded.datetime_settings.timezone, "Europe/Moscow");
    assert.equal(account._links.self.href, `${base.origin}/api/v4/account`);
  });

  await step("users: list, then each by id", async () => {
    const list = await amo.user.getUsers({ with: ["group"], limit: 250 });
    assert.equal(list._total_items, 5);
    for (const user of list._embedded.users) {
      const one = await amo.user.getUserById(user.id, { with: ["group"] });
      assert.equal(one.id, user.id);
      assert.equal(one.name, user.name);
      assert.equal(one._embedded.groups[0].name, "Отдел продаж");
    }
    assert.equal(list._embedded.users.filter((u) => u.rights.is_admin).length, 1);
  });

  await step("pipelines and statuses: list, by id", async () => {
    pipelines = (await amo.pipeline.getPipelines())._embedded.pipelines;
    assert.equal(pipelines.length, 2);
    for (const pipeline of pipelines) {
      const one = await amo.pipeline.getPipelineById(pipeline.id);
      assert.deepEqual(one, pipeline);
      const statuses = await amo.pipeline.getStatusesByPipelineId(pipeline.id);
      assert.equal(statuses._total_items, pipeline._embedded.statuses.length);
      assert.deepEqual(statuses._embedded.statuses, pipeline._embedded.statuses);
      for (const status of pipeline._embedded.statuses) {
        const by_id = await amo.pipeline.getStatusesById(status.id, pipeline.id);
        assert.deepEqual(by_id, status);
      }
      assert.ok(pipeline._embedded.statuses.some((s) => s.id === 142));
    }
  });

  await step("leads: pages, filter, by id", async () => {
    const page1 = await amo.lead.getLeads({ limit: 10, page: 1 });
    assert.equal(page1._embedded.leads.length, 10);
    assert.ok(page1._links.next);
    const page2 = await amo.lead.getLeads({ limit: 10, page: 2 });
    assert.notEqual(page2._embedded.leads[0].id, page1._embedded.leads[0].id);
    const first = page1._embedded.leads[0];
    const one = await amo.lead.getLeadById(first.id, { with: ["contacts"] });
    assert.equal(one.id, first.id);
    assert.equal(one.pipeline_id, first.pipeline_id);
    await expectNoContent(amo.lead.getLeadById(1), "unknown lead");
    await expectNoContent(amo.lead.getLeads({ page: 1000, limit: 250 }), "past the last page");
  });

  await step("leads: create, update one, update a batch", async () => {
    const main = pipelines.find((p) => p.is_main);
    const stage = main._embedded.statuses.find((s) => s.type === 0 && s.id !== 142 && s.id !== 143);
    const created = await amo.lead.addLeads([
      { name: "npm interop", price: 1200, pipeline_id: main.id, status_id: stage.id },
    ]);
    lead_id = created._embedded.leads[0].id;
    assert.equal(typeof lead_id, "number");
    const updated = await amo.lead.updateLeadById(lead_id, { name: "npm interop (edited)" });
    assert.equal(updated.id, lead_id);
    await amo.lead.updateLeads([{ id: lead_id, price: 3400 }]);
    const lead = await amo.lead.getLeadById(lead_id);
    assert.equal(lead.name, "npm interop (edited)");
    assert.equal(lead.price, 3400);
    assert.equal(lead.status_id, stage.id);
    await assert.rejects(amo.lead.addLeads([{ name: "bad", status_id: 1 }]), (error) => {
      return JSON.stringify(error.response ?? error.message).includes("validation-errors");
    });
  });

  await step("tasks: create and read back", async () => {
    const due = Math.floor(Date.now() / 1000) + 86400;
    const created = await amo.task.addTasks([
      { entity_id: lead_id, entity_type: "leads", text: "call back", complete_till: due },
    ]);
    const task_id = created._embedded.tasks[0].id;
    const task = await amo.task.getTaskById(task_id);
    assert.equal(task.entity_id, lead_id);
    assert.equal(task.text, "call back");
    assert.equal(task.complete_till, due);
  });

  await step("notes: create and list on the lead", async () => {
    const created = await amo.note.addNotes("leads", [
      { entity_id: lead_id, note_type: "common", params: { text: "from npm" } },
    ]);
    assert.equal(created._embedded.notes[0].entity_id, lead_id);
    const notes = await amo.note.getNotesByEntityId(lead_id, "leads");
    assert.ok(notes._embedded.notes.some((n) => n.params.text === "from npm"));
  });

  await step("webhooks: subscribe, list, unsubscribe (fetch: Content-Length body)", async () => {
    const added = await amo.webhook.addWebhook({ destination: hook, settings: ["status_lead"] });
    assert.equal(added.destination, hook);
    const listed = await amo.webhook.getWebhooks();
    assert.ok(listed._embedded.webhooks.some((w) => w.destination === hook));
    await amo.webhook.deleteWebhook({ destination: hook });
    await expectNoContent(amo.webhook.getWebhooks(), "no webhooks left");
  });

  const legacy = amocrmJs();
  await step("amocrm-js: account and a lead by id", async () => {
    const account = await legacy.request.get("/api/v4/account", { with: "users_groups" });
    assert.equal(account.response.statusCode, 200);
    assert.equal(account.data._embedded.users_groups[0].name, "Отдел продаж");
    const lead = await legacy.leads.getById(lead_id);
    assert.equal(lead.name, "npm interop (edited)");
  });

  await step("amocrm-js: webhook subscribe and unsubscribe (chunked DELETE body)", async () => {
    const second = `${hook}/chunked`;
    const added = await legacy.request.post("/api/v4/webhooks", {
      destination: second,
      settings: ["add_lead", "status_lead"],
    });
    assert.equal(added.response.statusCode, 200);
    assert.equal(added.data.destination, second);
    // Node frames a DELETE body only when told to (Content-Length or chunked): amocrm-js sets
    // neither, and a body sent unframed is not a body to any HTTP/1.1 server, amoCRM's nginx
    // included. Its per-request headers option asks for chunked, which is what a Node client
    // streaming a DELETE body sends.
    const removed = await legacy.request.delete(
      "/api/v4/webhooks",
      { destination: second },
      { headers: { "Transfer-Encoding": "chunked" } },
    );
    assert.equal(removed.response.statusCode, 204);
    const after = await legacy.request.get("/api/v4/webhooks");
    assert.equal(after.response.statusCode, 204, "the chunked DELETE removed the webhook");
  });

  console.log(`${checks} passed, 0 failed`);
}

async function untrusted() {
  // Without the test CA, verification must fail in both libraries, before any request is sent.
  const tls_error = (error) => {
    const text = `${error?.cause?.code ?? ""} ${error?.code ?? ""} ${error?.message ?? ""}`;
    return /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|unable to verify|certificate/i.test(text);
  };
  await assert.rejects(shevernitskiy().account.getAccount(), tls_error, "fetch must refuse");
  await assert.rejects(amocrmJs().request.get("/api/v4/account"), tls_error, "https must refuse");
  console.log("2 passed, 0 failed");
}

const mode = process.argv[2] ?? "trusted";
(mode === "untrusted" ? untrusted() : trusted()).catch((error) => {
  console.error(`not ok - ${error?.stack ?? error}`);
  if (error?.response) {
    console.error(JSON.stringify(error.response));
  }
  process.exit(1);
});
