// The sample editor console: drives the editor API with an API key and watches topics live.
import { LiveNewsClient } from "/livenews.js";

const $ = (id) => document.getElementById(id);
let apiKey = sessionStorage.getItem("livenews-api-key") ?? "";
$("api-key").value = apiKey;

/** Calls the editor API with a fresh Idempotency-Key per action and shows the answer or the problem. */
async function call(method, path, body, statusId) {
  const status = $(statusId);
  status.className = "status";
  status.textContent = "Sending…";
  const headers = { "X-Api-Key": apiKey, "Idempotency-Key": crypto.randomUUID() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  try {
    const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    const json = text ? JSON.parse(text) : null;
    if (!response.ok) {
      status.className = "status error";
      const fields = json?.errors ? Object.entries(json.errors).map(([field, messages]) => `${field}: ${messages.join(" ")}`).join("\n") : "";
      status.textContent = `${response.status} ${json?.title ?? response.statusText}${json?.detail ? `: ${json.detail}` : ""}${fields ? `\n${fields}` : ""}`;
      return null;
    }
    status.className = "status ok";
    const seqs = (json?.events ?? []).map((e) => `${e.type} (${e.topic} #${e.seq})`).join(", ");
    const jobs = (json?.jobs ?? (json?.state ? [json] : [])).map((j) => `${j.account}: ${j.state}`).join(", ");
    status.textContent = seqs ? `Published ${seqs}` : jobs ? `Share jobs: ${jobs}` : "Done";
    return json;
  } catch (error) {
    status.className = "status error";
    status.textContent = `Network error: ${error.message}`;
    return null;
  }
}

const onSubmit = (id, handler) => $(id).addEventListener("submit", (event) => { event.preventDefault(); handler(); });

onSubmit("signin", async () => {
  apiKey = $("api-key").value.trim();
  sessionStorage.setItem("livenews-api-key", apiKey);
  // A write-free check: a DELETE of an alert that cannot exist answers 404 when the key may publish.
  const response = await fetch("/api/breaking/sign-in-check", { method: "DELETE", headers: { "X-Api-Key": apiKey } });
  const status = $("signin-status");
  const ok = response.status === 404;
  status.className = ok ? "status ok" : "status error";
  status.textContent = ok ? "Signed in: this key may publish." : response.status === 403 ? "This key may not publish." : "Unknown API key.";
  if (ok) { followShares(); showAccounts(); }
});

// Share jobs, live on the editor-only newsroom topic (the API key travels as a header, never in a URL).
let newsroom = null;
function followShares() {
  newsroom?.stop();
  const jobs = new Map();
  const render = () => {
    const list = $("share-jobs");
    const sorted = [...jobs.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    if (sorted.length === 0) {
      const li = document.createElement("li");
      li.className = "empty";
      li.textContent = "No shares yet.";
      list.replaceChildren(li);
      return;
    }
    list.replaceChildren(...sorted.map((job) => {
      const li = document.createElement("li");
      li.dataset.jobId = job.id;
      li.dataset.state = job.state;
      const text = document.createElement("span");
      const when = job.state === "scheduled" && job.scheduledAt ? ` at ${new Date(job.scheduledAt).toLocaleString()}` : "";
      text.textContent = `${job.articleId} → ${job.account}: ${job.state}${when}${job.reason ? ` (${job.reason})` : ""}`;
      li.append(text);
      if (job.remoteUrl && /^https?:/.test(job.remoteUrl)) {
        const link = document.createElement("a");
        link.href = job.remoteUrl;
        link.target = "_blank";
        link.rel = "noopener";
        link.textContent = "view";
        li.append(link);
      }
      if (["failed", "dead"].includes(job.state)) {
        li.append(button("Retry", () => call("POST", `/api/shares/${encodeURIComponent(job.id)}/retry`, undefined, "share-status")));
      }
      if (job.state === "unconfirmed") {
        // The post may exist: the editor checks the network first, and says so.
        li.append(button("Not posted: retry", () => {
          if (confirm(`Check ${job.account} (${job.network}) first. Is the post really not there?`)) {
            call("POST", `/api/shares/${encodeURIComponent(job.id)}/retry`, { confirmNotPosted: true }, "share-status");
          }
        }));
      }
      if (job.state === "scheduled") {
        li.append(button("Cancel", () => call("DELETE", `/api/shares/${encodeURIComponent(job.id)}`, undefined, "share-status")));
      }
      return li;
    }));
  };
  newsroom = new LiveNewsClient({ url: "/hubs/live", headers: { "X-Api-Key": apiKey }, storage: null });
  newsroom.subscribe("newsroom", {
    snapshot: (s) => { jobs.clear(); for (const job of s.shares) jobs.set(job.id, job); render(); },
    event: (e) => {
      if (isTakenDown(e)) return;
      if (e.type === "share.cancelled") jobs.delete(e.data.id);
      else jobs.set(e.data.id, e.data);
      render();
    },
    error: (error) => {
      const li = document.createElement("li");
      li.className = "empty";
      li.textContent = error.reason === "refused" ? `Share status not available: ${error.message}` : "Share status delayed; retrying…";
      $("share-jobs").replaceChildren(li);
    },
  });
  newsroom.start();
}
if (apiKey) followShares();

onSubmit("live-form", () => call("PUT", "/api/live", { title: $("live-title-input").value, streamUrl: $("live-stream").value }, "live-status"));
$("live-end").addEventListener("click", () => call("DELETE", "/api/live", undefined, "live-status"));

onSubmit("breaking-form", async () => {
  const minutes = Number($("breaking-minutes").value);
  const body = { headline: $("breaking-headline").value };
  if ($("breaking-url").value) body.url = $("breaking-url").value;
  if (minutes > 0) body.expiresAt = new Date(Date.now() + minutes * 60_000).toISOString();
  if (await call("POST", "/api/breaking", body, "breaking-status")) $("breaking-form").reset();
});

onSubmit("article-form", () => {
  const body = { headline: $("article-headline-input").value, url: $("article-url").value };
  if ($("article-summary-input").value) body.summary = $("article-summary-input").value;
  if ($("article-section-input").value) body.section = $("article-section-input").value;
  return call("PUT", `/api/articles/${encodeURIComponent($("article-id").value)}`, body, "article-status");
});

onSubmit("entry-form", async () => {
  const body = { kind: $("entry-kind").value, text: $("entry-text").value, pinned: $("entry-pinned").checked };
  if (await call("POST", `/api/articles/${encodeURIComponent($("entry-article").value)}/entries`, body, "entry-status")) $("entry-text").value = "";
});

function button(label, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.addEventListener("click", onClick);
  return b;
}

/** The share body from the form: accounts, the same optional text for each, an optional time, force. */
function shareBody() {
  const accounts = $("share-accounts").value.split(",").map((s) => s.trim()).filter(Boolean);
  const body = { accounts };
  const text = $("share-text").value.trim();
  if (text) body.text = Object.fromEntries(accounts.map((a) => [a, text]));
  if ($("share-at").value) body.at = new Date($("share-at").value).toISOString();
  if ($("share-force").checked) body.force = true;
  return body;
}

const sharePath = () => `/api/articles/${encodeURIComponent($("share-article").value)}/shares`;

$("share-preview-button").addEventListener("click", async () => {
  const answer = await call("POST", `${sharePath()}/preview`, shareBody(), "share-status");
  $("share-previews").replaceChildren(...(answer?.previews ?? []).map((p) => {
    const li = document.createElement("li");
    li.dataset.account = p.account;
    li.dataset.ok = String(p.ok);
    const head = document.createElement("strong");
    head.textContent = `${p.account} (${p.network}): ${p.length}${p.limit ? ` / ${p.limit}` : ""} ${p.ok ? "✓" : "✗"}`;
    const text = document.createElement("pre");
    text.textContent = p.text;
    li.append(head, text);
    for (const problem of p.problems) {
      const span = document.createElement("span");
      span.className = "error";
      span.textContent = problem;
      li.append(span);
    }
    return li;
  }));
  if (answer) $("share-status").textContent = "Preview: nothing was posted.";
});

onSubmit("share-form", () => call("POST", sharePath(), shareBody(), "share-status"));

// Each account's health: ok, expiring, expired, failing or breaker-open.
async function showAccounts() {
  const list = $("social-accounts");
  const response = await fetch("/api/social/accounts", { headers: { "X-Api-Key": apiKey } });
  if (!response.ok) {
    list.replaceChildren(Object.assign(document.createElement("li"), { className: "empty", textContent: `${response.status}: this key may not share.` }));
    return;
  }
  const accounts = await response.json();
  list.replaceChildren(...accounts.map((a) => {
    const li = document.createElement("li");
    li.dataset.account = a.name;
    li.dataset.state = a.state;
    const details = [
      a.expiresAt ? `token until ${new Date(a.expiresAt).toLocaleString()}` : "",
      a.lastPostedAt ? `last post ${new Date(a.lastPostedAt).toLocaleString()}` : "",
      a.lastError ? `last error: ${a.lastError}` : "",
    ].filter(Boolean).join("; ");
    li.textContent = `${a.name} (${a.network}): ${a.state}${details ? ` (${details})` : ""}`;
    return li;
  }));
}
$("accounts-refresh").addEventListener("click", showAccounts);
if (apiKey) showAccounts();

// What is on air right now, live: the live status and the active alerts with a retract button each.
const client = new LiveNewsClient({ url: "/hubs/live" });
client.onState((state) => {
  $("connection").dataset.state = state;
  $("connection").textContent = state === "live" ? "Live" : `${state[0].toUpperCase()}${state.slice(1)}…`;
});

const renderLive = (status) => { $("live-now").textContent = status ? `LIVE: ${status.title}` : "Not live."; };
client.subscribe("live", {
  snapshot: (s) => renderLive(s.status),
  event: (e) => { if (!isTakenDown(e)) renderLive(e.type === "live.ended" ? null : e.data); },
});

const alerts = new Map();
function renderAlerts() {
  $("active-alerts").replaceChildren(...[...alerts.values()].map((alert) => {
    const li = document.createElement("li");
    li.dataset.alertId = alert.id;
    const text = document.createElement("span");
    text.textContent = alert.headline;
    const retract = document.createElement("button");
    retract.type = "button";
    retract.className = "danger";
    retract.textContent = "Retract";
    retract.addEventListener("click", () => call("DELETE", `/api/breaking/${encodeURIComponent(alert.id)}`, undefined, "breaking-status"));
    li.append(text, retract);
    return li;
  }));
}
client.subscribe("breaking", {
  snapshot: (s) => { alerts.clear(); for (const a of s.alerts) alerts.set(a.id, a); renderAlerts(); },
  event: (e) => {
    if (isTakenDown(e)) return;
    if (e.type === "breaking.retracted" || e.type === "breaking.expired") alerts.delete(e.data.id);
    else alerts.set(e.data.id, e.data);
    renderAlerts();
  },
});
client.start();

// An event whose item was taken down later (unpublished, retracted, deleted) comes back from history as a
// tombstone, { id, removed: true }, before the event that removed it: nothing to show.
function isTakenDown(e) {
  return e.data?.removed === true;
}
