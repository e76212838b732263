// The sample reader page: every value from the server goes into the page as text, never as HTML.
import { LiveNewsClient } from "/livenews.js";

const $ = (id) => document.getElementById(id);
const client = new LiveNewsClient({ url: "/hubs/live" });
const articleId = new URLSearchParams(location.search).get("article");

// Connection indicator.
client.onState((state) => {
  const el = $("connection");
  el.dataset.state = state;
  el.textContent = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…", offline: "Offline" }[state];
});

// "Watch LIVE" badge: lit only while the newsroom is live.
function renderLive(status) {
  const badge = $("live-badge");
  badge.hidden = !status;
  if (status) {
    badge.href = status.streamUrl;
    $("live-title").textContent = status.title ? ` · ${status.title}` : "";
  }
}
let liveStatus = null;
client.subscribe("live", {
  snapshot: (s) => renderLive(liveStatus = s.status),
  event: (e) => renderLive(liveStatus = e.type === "live.ended" ? null : e.data),
});

// Breaking banner: the newest active alert the reader has not dismissed.
const alerts = new Map();
const dismissed = new Set(JSON.parse(sessionStorage.getItem("dismissed-alerts") ?? "[]"));
function renderBreaking() {
  const current = [...alerts.values()]
    .filter((a) => !dismissed.has(a.id))
    .sort((a, b) => b.publishedAt.localeCompare(a.publishedAt))[0];
  $("breaking").hidden = !current;
  if (!current) return;
  $("breaking").dataset.alertId = current.id;
  const link = $("breaking-link");
  link.textContent = current.headline;
  if (current.url) link.href = current.url; else link.removeAttribute("href");
}
$("breaking-dismiss").addEventListener("click", () => {
  dismissed.add($("breaking").dataset.alertId);
  sessionStorage.setItem("dismissed-alerts", JSON.stringify([...dismissed]));
  renderBreaking();
});
client.subscribe("breaking", {
  snapshot: (s) => { alerts.clear(); for (const a of s.alerts) alerts.set(a.id, a); renderBreaking(); },
  event: (e) => {
    if (e.type === "breaking.retracted" || e.type === "breaking.expired") alerts.delete(e.data.id);
    else alerts.set(e.data.id, e.data);
    renderBreaking();
  },
});

// "Most recent": newest first, updated in place.
const articles = new Map();
function renderLatest() {
  const list = $("latest");
  const sorted = [...articles.values()].sort((a, b) => b.publishedAt.localeCompare(a.publishedAt)).slice(0, 50);
  list.replaceChildren(...sorted.map((a) => {
    const li = document.createElement("li");
    li.dataset.articleId = a.id;
    const link = document.createElement("a");
    link.href = `/?article=${encodeURIComponent(a.id)}`;
    link.textContent = a.headline;
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = [a.section, new Date(a.publishedAt).toLocaleTimeString()].filter(Boolean).join(" · ");
    li.append(link, meta);
    return li;
  }));
  $("latest-empty").hidden = sorted.length > 0;
}
client.subscribe("latest", {
  snapshot: (s) => { articles.clear(); for (const a of s.articles) articles.set(a.id, a); renderLatest(); },
  event: (e) => {
    if (e.type === "article.unpublished") articles.delete(e.data.id); else articles.set(e.data.id, e.data);
    renderLatest();
  },
});

// The article view: pinned entries first, then newest; edits and deletions in place; new entries wait
// behind an "N new updates" button while the reader is scrolled away from the top of the list.
if (articleId) {
  $("article").hidden = false;
  const entries = new Map();
  const held = new Map();

  const renderArticle = (article) => {
    $("article-gone").hidden = !!article;
    $("article-headline").textContent = article?.headline ?? "";
    $("article-summary").textContent = article?.summary ?? "";
    $("article-section").textContent = article?.section ?? "";
    const link = $("article-link");
    link.hidden = !article;
    if (article) link.href = article.url;
    document.title = article ? `${article.headline} · LiveNews Daily` : "LiveNews Daily";
  };

  const renderEntries = () => {
    const sorted = [...entries.values()].sort((a, b) => (b.pinned - a.pinned) || b.postedAt.localeCompare(a.postedAt));
    $("entries").replaceChildren(...sorted.map((entry) => {
      const li = document.createElement("li");
      li.className = `entry ${entry.kind}${entry.pinned ? " pinned" : ""}`;
      li.dataset.entryId = entry.id;
      const head = document.createElement("div");
      head.className = "entry-head";
      head.textContent = [entry.pinned ? "📌 Pinned" : null, entry.kind === "entry" ? null : entry.kind, new Date(entry.postedAt).toLocaleTimeString(), entry.editedAt ? "edited" : null].filter(Boolean).join(" · ");
      const text = document.createElement("p");
      text.className = "entry-text";
      text.textContent = entry.text;
      li.append(head, text);
      return li;
    }));
    const button = $("new-updates");
    button.hidden = held.size === 0;
    button.textContent = `${held.size} new update${held.size === 1 ? "" : "s"}`;
  };

  const scrolledAway = () => $("entries").getBoundingClientRect().top < -200;
  $("new-updates").addEventListener("click", () => {
    for (const [id, entry] of held) entries.set(id, entry);
    held.clear();
    renderEntries();
    $("entries").scrollIntoView({ behavior: "smooth" });
  });

  client.subscribe(`article:${articleId}`, {
    snapshot: (s) => {
      renderArticle(s.article);
      entries.clear();
      held.clear();
      for (const entry of s.entries) entries.set(entry.id, entry);
      renderEntries();
    },
    event: (e) => {
      if (e.type.startsWith("article.")) {
        renderArticle(e.type === "article.unpublished" ? null : e.data);
        return;
      }
      if (e.type === "entry.deleted") {
        entries.delete(e.data.id);
        held.delete(e.data.id);
      } else if (e.type === "entry.posted" && scrolledAway()) {
        held.set(e.data.id, e.data);
      } else if (held.has(e.data.id)) {
        held.set(e.data.id, e.data);
      } else {
        entries.set(e.data.id, e.data);
      }
      renderEntries();
    },
  });

  // Share buttons: intent links from the server where it offers them, and the Web Share API.
  fetch(`/api/articles/${encodeURIComponent(articleId)}/share-links`)
    .then((response) => (response.ok ? response.json() : null))
    .then((links) => {
      if (!links) return;
      $("share-links").replaceChildren(...Object.entries(links.links ?? links).filter(([, url]) => typeof url === "string" && /^https?:|^mailto:/.test(url)).map(([network, url]) => {
        const a = document.createElement("a");
        a.href = url;
        a.target = "_blank";
        a.rel = "noopener";
        a.className = "share-link";
        a.textContent = network;
        return a;
      }));
    })
    .catch(() => {});
  if (navigator.share) {
    const button = $("web-share");
    button.hidden = false;
    button.addEventListener("click", () => navigator.share({ title: $("article-headline").textContent, url: $("article-link").href }).catch(() => {}));
  }
}

client.start();
