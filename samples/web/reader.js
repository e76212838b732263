// The sample reader page: every value from the server goes into the page as text, never as HTML, and every
// link from the server is checked against a scheme before it becomes an href.
import { LiveNewsClient } from "/livenews.js";

const $ = (id) => document.getElementById(id);
const client = new LiveNewsClient({ url: "/hubs/live" });
const params = new URLSearchParams(location.search);
const articleId = params.get("article");
const allArticles = !articleId && params.get("view") === "all";

/** The URL when it is http(s), else null: a stored `javascript:` link must never become an href. */
const safeUrl = (url) => (typeof url === "string" && /^https?:\/\//i.test(url) ? url : null);
const setLink = (link, url) => {
  const safe = safeUrl(url);
  if (safe) link.href = safe; else link.removeAttribute("href");
};
/** Newest first by publication time; the server breaks ties by id, and so do we. */
const byPublished = (a, b) => b.publishedAt.localeCompare(a.publishedAt) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

// Connection indicator.
client.onState((state) => {
  const el = $("connection");
  el.dataset.state = state;
  el.textContent = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…", offline: "Offline" }[state];
});

/** "N watching" beside the badge or the live blog; hidden while nobody is counted. */
function renderViewers(element, count) {
  element.dataset.count = String(count);
  element.textContent = `${count.toLocaleString()} watching`;
  element.hidden = !(count > 0) || (element.id === "live-viewers" && $("live-badge").hidden);
}

// "Watch LIVE" badge: lit only while the newsroom is live, with how many watch.
function renderLive(status) {
  const badge = $("live-badge");
  badge.hidden = !status;
  const viewers = $("live-viewers");
  renderViewers(viewers, Number(viewers.dataset.count ?? 0));
  if (status) {
    setLink(badge, status.streamUrl);
    $("live-title").textContent = status.title ? ` · ${status.title}` : "";
  }
}
client.subscribe("live", {
  snapshot: (s) => renderLive(s.status),
  event: (e) => { if (!isTakenDown(e)) renderLive(e.type === "live.ended" ? null : e.data); },
  viewers: (count) => renderViewers($("live-viewers"), count),
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
  setLink(link, current.url);
}
$("breaking-dismiss").addEventListener("click", () => {
  dismissed.add($("breaking").dataset.alertId);
  sessionStorage.setItem("dismissed-alerts", JSON.stringify([...dismissed]));
  renderBreaking();
});
client.subscribe("breaking", {
  snapshot: (s) => { alerts.clear(); for (const a of s.alerts) alerts.set(a.id, a); renderBreaking(); },
  event: (e) => {
    if (isTakenDown(e)) return;
    if (e.type === "breaking.retracted" || e.type === "breaking.expired") alerts.delete(e.data.id);
    else alerts.set(e.data.id, e.data);
    renderBreaking();
  },
});

/** One article as a list item: a link to its page, then section and time. */
function articleItem(a, withDate) {
  const li = document.createElement("li");
  li.dataset.articleId = a.id;
  const link = document.createElement("a");
  link.href = `/?article=${encodeURIComponent(a.id)}`;
  link.textContent = a.headline;
  const meta = document.createElement("span");
  meta.className = "meta";
  const when = new Date(a.publishedAt);
  meta.textContent = [a.section, withDate ? when.toLocaleString() : when.toLocaleTimeString()].filter(Boolean).join(" · ");
  li.append(link, meta);
  return li;
}

// "Most recent": newest first, updated in place.
const articles = new Map();
function renderLatest() {
  const sorted = [...articles.values()].sort(byPublished).slice(0, 50);
  $("latest").replaceChildren(...sorted.map((a) => articleItem(a, false)));
  $("latest-empty").hidden = sorted.length > 0;
}

// "All Articles": every published article, newest first, a page at a time from the index; articles
// published while the page is open join at the top.
const index = allArticles ? articleIndex(params.get("section")?.trim() || null) : null;

client.subscribe("latest", {
  snapshot: (s) => { articles.clear(); for (const a of s.articles) articles.set(a.id, a); renderLatest(); },
  event: (e) => {
    if (isTakenDown(e)) return;
    if (e.type === "article.unpublished") articles.delete(e.data.id); else articles.set(e.data.id, e.data);
    renderLatest();
    index?.update(e);
  },
});

function articleIndex(section) {
  $("all").hidden = false;
  $("all-section").value = section ?? "";
  $("all-heading").textContent = section ? `All Articles · ${section}` : "All Articles";
  document.title = "All Articles · LiveNews Daily";
  const shown = new Map();
  let next; // undefined before the first page, null once the oldest article is shown

  const render = () => {
    const sorted = [...shown.values()].sort(byPublished);
    $("all-list").replaceChildren(...sorted.map((a) => articleItem(a, true)));
    $("all-empty").hidden = sorted.length > 0 || next !== null;
    $("all-more").hidden = next === null || next === undefined;
  };
  // As the server matches a section: ignoring the case of A-Z only.
  const asciiLower = (s) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());
  const matches = (a) => !section || (a.section !== undefined && a.section !== null && asciiLower(a.section) === asciiLower(section));
  /** Older than everything shown while older pages remain: it arrives with its page. */
  const beyondLoaded = (a) => next !== null && [...shown.values()].every((b) => byPublished(a, b) > 0);

  const loadMore = async () => {
    const button = $("all-more");
    button.disabled = true;
    $("all-status").hidden = true;
    const query = new URLSearchParams({ limit: "25" });
    if (section) query.set("section", section);
    if (next) query.set("before", next);
    try {
      const response = await fetch(`/api/articles?${query}`);
      if (!response.ok) throw new Error(`${response.status}`);
      const page = await response.json();
      for (const a of page.articles) if (!shown.has(a.id)) shown.set(a.id, a);
      next = page.next ?? null;
      render();
    } catch {
      $("all-status").hidden = false;
    } finally {
      button.disabled = false;
    }
  };
  $("all-more").addEventListener("click", loadMore);
  void loadMore();

  return {
    update(e) {
      if (e.type === "article.unpublished" || !matches(e.data)) {
        if (!shown.delete(e.data.id)) return;
      } else if (shown.has(e.data.id) || !beyondLoaded(e.data)) {
        shown.set(e.data.id, e.data);
      } else {
        return;
      }
      render();
    },
  };
}

// The article view: pinned entries first, then newest; edits and deletions in place; new entries wait
// behind an "N new updates" button while the reader is scrolled away from the top of the list; older
// entries than the snapshot's come page by page with "Show earlier updates".
if (articleId) {
  $("article").hidden = false;
  const entries = new Map();
  const held = new Map();
  // Entries deleted while the page is open: a page fetched before the deletion must not bring them back.
  const deleted = new Set();
  // Where each entry stands in the server's (creation) order, for entries posted in the same millisecond:
  // live entries arrive in creation order and rank above everything seen, older pages rank below.
  const rank = new Map();
  let newestRank = 0;
  let oldestRank = 0;
  const rankAsNewest = (id) => { if (!rank.has(id)) rank.set(id, ++newestRank); };
  const rankAsOldest = (id) => { if (!rank.has(id)) rank.set(id, --oldestRank); };
  // Where "Show earlier updates" goes on from: { before } (null: from the newest), or null when all is shown.
  let earlier = null;
  // Counts snapshots: a page asked for before a fresh snapshot (which starts over) is dropped.
  let generation = 0;

  const renderArticle = (article) => {
    $("article-gone").hidden = !!article;
    $("article-headline").textContent = article?.headline ?? "";
    $("article-summary").textContent = article?.summary ?? "";
    $("article-section").textContent = article?.section ?? "";
    const link = $("article-link");
    link.hidden = !safeUrl(article?.url);
    setLink(link, article?.url);
    document.title = article ? `${article.headline} · LiveNews Daily` : "LiveNews Daily";
  };

  const renderEntries = () => {
    const sorted = [...entries.values()].sort((a, b) =>
      (b.pinned - a.pinned) || b.postedAt.localeCompare(a.postedAt) || rank.get(b.id) - rank.get(a.id));
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
    $("earlier-updates").hidden = earlier === null;
  };

  const scrolledAway = () => $("entries").getBoundingClientRect().top < -200;
  $("new-updates").addEventListener("click", () => {
    for (const [id, entry] of held) entries.set(id, entry);
    held.clear();
    renderEntries();
    $("entries").scrollIntoView({ behavior: "smooth" });
  });

  $("earlier-updates").addEventListener("click", async () => {
    const button = $("earlier-updates");
    if (earlier === null) return;
    const asked = generation;
    button.disabled = true;
    $("earlier-status").hidden = true;
    const query = new URLSearchParams({ limit: "50" });
    if (earlier.before) query.set("before", earlier.before);
    try {
      const response = await fetch(`/api/articles/${encodeURIComponent(articleId)}/entries?${query}`);
      if (!response.ok) throw new Error(`${response.status}`);
      const page = await response.json();
      if (asked !== generation) return;
      for (const entry of page.entries) {
        rankAsOldest(entry.id);
        // What the page already shows (or deleted) is as new as this page or newer: keep it.
        if (!entries.has(entry.id) && !held.has(entry.id) && !deleted.has(entry.id)) entries.set(entry.id, entry);
      }
      earlier = page.next ? { before: page.next } : null;
      renderEntries();
    } catch {
      $("earlier-status").hidden = false;
    } finally {
      button.disabled = false;
    }
  });

  client.subscribe(`article:${articleId}`, {
    snapshot: (s) => {
      generation++;
      $("article-error").hidden = true;
      renderArticle(s.article);
      $("web-share").hidden = !s.article || !navigator.share;
      entries.clear();
      held.clear();
      deleted.clear();
      rank.clear();
      newestRank = oldestRank = 0;
      const unpinned = s.entries.filter((entry) => !entry.pinned);
      // Pinned first, then the newest: rank from the oldest up so the newest ranks highest.
      for (const entry of [...s.entries].reverse()) rankAsNewest(entry.id);
      for (const entry of s.entries) entries.set(entry.id, entry);
      earlier = s.more ? { before: unpinned.at(-1)?.id ?? null } : null;
      renderEntries();
    },
    event: (e) => {
      if (isTakenDown(e)) return;
      if (e.type === "article.unpublished") {
        // Taken down: nothing of it stays on the page, entries, held ones and share links included.
        renderArticle(null);
        entries.clear();
        held.clear();
        earlier = null;
        $("share-links").replaceChildren();
        $("web-share").hidden = true;
        renderEntries();
        return;
      }
      if (e.type.startsWith("article.")) {
        renderArticle(e.data);
        $("web-share").hidden = !navigator.share;
        return;
      }
      if (e.type === "entry.deleted") {
        entries.delete(e.data.id);
        held.delete(e.data.id);
        deleted.add(e.data.id);
      } else if (e.type === "entry.posted") {
        rankAsNewest(e.data.id);
        (scrolledAway() ? held : entries).set(e.data.id, e.data);
      } else if (held.has(e.data.id)) {
        held.set(e.data.id, e.data);
      } else {
        rankAsOldest(e.data.id); // An edit of an entry older than those shown: it came with no page.
        entries.set(e.data.id, e.data);
      }
      renderEntries();
    },
    viewers: (count) => renderViewers($("article-viewers"), count),
    error: (error) => {
      // A refused topic (an id that cannot exist) is never retried; an unavailable one is, by the client.
      const notice = $("article-error");
      notice.hidden = false;
      notice.textContent = error.reason === "refused"
        ? "This article cannot be shown."
        : "Live updates of this article are delayed; retrying…";
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

// "Notify me of breaking news": Web Push through the service worker (sw.js), when the server has push on
// and the browser can. Clicking again turns it off.
async function setUpNotifications() {
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) return;
  const key = await fetch("/api/push/key").then((r) => (r.ok ? r.json() : null)).catch(() => null);
  if (!key?.publicKey) return;
  const button = $("notify");
  const registration = await navigator.serviceWorker.register("/sw.js");
  const show = (on) => {
    button.dataset.state = on ? "on" : "off";
    button.textContent = on ? "Breaking news alerts on · turn off" : "Notify me of breaking news";
  };
  let existing = await registration.pushManager.getSubscription();
  // Made with a key the server no longer signs with (its keys were rotated): push services refuse its pushes.
  // It is replaced, without asking again (the permission stands).
  if (existing && !sameKey(existing.options?.applicationServerKey, key.publicKey)) {
    await forgetSubscription(existing.endpoint).catch(() => {});
    await existing.unsubscribe().catch(() => {});
    existing = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key.publicKey }).catch(() => null);
  }
  show(!!existing);
  // The server forgets a subscription not renewed within Push:SubscriptionTimeToLive (and loses all of them if
  // its store does): each visit renews it, so alerts keep coming to a reader who turned them on.
  if (existing) void postSubscription(existing).catch(() => {});
  button.hidden = false;
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const current = await registration.pushManager.getSubscription();
      if (current) {
        await forgetSubscription(current.endpoint);
        await current.unsubscribe();
        show(false);
        return;
      }
      if ((await Notification.requestPermission()) !== "granted") return;
      const subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key.publicKey });
      const response = await postSubscription(subscription);
      if (!response.ok) {
        await subscription.unsubscribe();
        throw new Error(`${response.status}`);
      }
      show(true);
    } catch {
      button.textContent = "Alerts could not be turned on. Try again.";
    } finally {
      button.disabled = false;
    }
  });
}
void setUpNotifications();

// True unless the subscription's key is known and differs from the server's (base64url of the same bytes).
function sameKey(subscribed, publicKey) {
  if (!subscribed) return true;
  const bytes = new Uint8Array(subscribed);
  const encoded = btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  return encoded === publicKey.replace(/=+$/, "");
}

function forgetSubscription(endpoint) {
  return fetch("/api/push/subscriptions", { method: "DELETE", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ endpoint }) });
}

// Stores (or renews) the browser's push subscription at the server, for breaking alerts. sw.js does the same
// when the browser replaces the subscription.
function postSubscription(subscription) {
  return fetch("/api/push/subscriptions", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ ...subscription.toJSON(), topics: ["breaking"] }),
  });
}

// An event whose item was taken down later (unpublished, retracted, deleted) comes back from history as a
// tombstone, { id, removed: true }, before the event that removed it: nothing to show.
function isTakenDown(e) {
  return e.data?.removed === true;
}
