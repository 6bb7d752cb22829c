// The Neutrino dashboard: log in with the server's identity (POST /v3/auth/tokens), then
// show the view that /dashboard/api/stream pushes as server-sent events. Plain browser
// JavaScript, no libraries. Data only ever reaches the page through textContent.
"use strict";

const TOKEN_KEY = "neutrino.dashboard.token";
const USER_KEY = "neutrino.dashboard.user";
const $ = (id) => document.getElementById(id);

const view = {
  agent_search: "", agent_state: "", agent_page: 0, agent_size: 25,
  network_search: "", network_state: "", network_page: 0, network_size: 25,
};
let stream = null;        // the AbortController of the open stream
let retryTimer = null;
let retryMs = 2000;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function badge(kind, text) { return el("span", { class: `badge ${kind}` }, text ?? kind); }

// ---- session ---------------------------------------------------------------------------

function token() { return sessionStorage.getItem(TOKEN_KEY); }

function showLogin(message) {
  stopStream();
  sessionStorage.removeItem(TOKEN_KEY);
  $("board").hidden = true;
  $("session").hidden = true;
  $("login-panel").hidden = false;
  $("login-error").textContent = message || "";
}

function showBoard() {
  $("login-panel").hidden = true;
  $("board").hidden = false;
  $("session").hidden = false;
  $("who").textContent = sessionStorage.getItem(USER_KEY) || "";
  connect();
}

async function login(event) {
  event.preventDefault();
  const user = $("username").value, domain = $("domain").value;
  const body = { auth: {
    identity: { methods: ["password"], password: { user: {
      name: user, domain: { id: domain }, password: $("password").value } } },
    scope: { project: { name: $("project").value, domain: { id: domain } } } } };
  $("login-error").textContent = "";
  let response;
  try {
    response = await fetch("/v3/auth/tokens", { method: "POST", body: JSON.stringify(body),
      headers: { "Content-Type": "application/json" } });
  } catch (err) {
    $("login-error").textContent = `The server did not answer: ${err.message}`;
    return;
  }
  if (response.status !== 201) {
    let message = `Login refused (${response.status}).`;
    try { message = (await response.json()).error.message || message; } catch (_) { /* text */ }
    $("login-error").textContent = message;
    return;
  }
  const roles = ((await response.json()).token.roles || []).map((r) => r.name);
  const issued = response.headers.get("X-Subject-Token");
  if (!roles.includes("admin")) {
    revoke(issued);
    $("login-error").textContent = "The dashboard is for admins: this user has no admin " +
      "role in that project.";
    return;
  }
  $("password").value = "";
  sessionStorage.setItem(TOKEN_KEY, issued);
  sessionStorage.setItem(USER_KEY, `${user} @ ${$("project").value}`);
  showBoard();
}

function revoke(value) {
  if (!value) return;
  fetch("/v3/auth/tokens", { method: "DELETE",
    headers: { "X-Auth-Token": value, "X-Subject-Token": value } }).catch(() => {});
}

function logout() {
  revoke(token());
  showLogin("Logged out.");
}

// ---- the stream ------------------------------------------------------------------------

function setLink(text, kind) {
  const link = $("link");
  link.textContent = text;
  link.className = `link ${kind || ""}`;
}

function stopStream() {
  clearTimeout(retryTimer);
  if (stream) stream.abort();
  stream = null;
}

function params() {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(view)) q.set(key, String(value));
  return q.toString();
}

function reconnectSoon() {
  setLink("reconnecting…", "down");
  clearTimeout(retryTimer);
  retryTimer = setTimeout(connect, retryMs);
}

async function connect() {
  stopStream();
  const mine = new AbortController();
  stream = mine;
  let response;
  try {
    response = await fetch(`/dashboard/api/stream?${params()}`, { signal: mine.signal,
      headers: { "X-Auth-Token": token() || "", "Accept": "text/event-stream" } });
  } catch (err) {
    if (stream === mine) reconnectSoon();
    return;
  }
  if (response.status === 401 || response.status === 403) {
    showLogin(await errorText(response));
    return;
  }
  if (!response.ok) {
    notice(await errorText(response));
    if (stream === mine) reconnectSoon();
    return;
  }
  setLink("live", "live");
  try {
    await readEvents(response.body, mine);
  } catch (err) {
    if (err.name === "AbortError") return;
  }
  if (stream === mine) reconnectSoon();
}

async function errorText(response) {
  try { return (await response.json()).NeutronError.message; } catch (_) {
    return `The server answered ${response.status}.`;
  }
}

// text/event-stream: blocks separated by a blank line, "field: value" lines.
async function readEvents(body, mine) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done || stream !== mine) return;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") event = text;
        else if (field === "data") data.push(text);
        else if (field === "retry" && /^\d+$/.test(text)) retryMs = Number(text);
      }
      handle(event, data.join("\n"));
    }
  }
}

function handle(event, data) {
  if (event === "view") {
    notice("");
    render(JSON.parse(data));
  } else if (event === "unavailable") {
    notice(data);
  } else if (event === "refused") {
    showLogin(data);
  }
}

function notice(text) {
  $("notice").hidden = !text;
  $("notice").textContent = text;
}

// ---- rendering -------------------------------------------------------------------------

function render(doc) {
  renderSummary(doc.summary);
  renderAgents(doc.agents);
  renderNetworks(doc.networks);
  renderMoves(doc.moves);
  renderTimeline(doc.timeline);
  document.body.dataset.serverTime = doc.server_time;
}

function card(value, label, kind) {
  return el("div", { class: `card ${kind || ""}` },
    el("div", { class: "value" }, value), el("div", { class: "label" }, label));
}

function renderSummary(summary) {
  const cards = summary.agents.map((t) => card(`${t.alive} / ${t.total}`,
    `${t.agent_type}s alive${t.disabled ? `, ${t.disabled} disabled` : ""}`,
    t.alive < t.total ? "risk" : ""));
  cards.push(card(summary.dhcp_networks, "networks with DHCP"));
  cards.push(card(summary.networks_at_risk, "networks at risk",
    summary.networks_at_risk ? "risk" : ""));
  cards.push(card(summary.networks_unserved, "networks without a live agent",
    summary.networks_unserved ? "risk" : ""));
  $("summary").replaceChildren(...cards);
}

function renderAgents(page) {
  $("agents").replaceChildren(...page.items.map((a) => el("tr",
    { class: a.alive ? "" : "dead", "data-host": a.host, "data-type": a.agent_type,
      "data-alive": String(a.alive) },
    el("td", {}, a.host), el("td", {}, a.agent_type),
    el("td", { class: "state" }, badge(a.alive ? "alive" : "dead")),
    el("td", {}, a.admin_state_up ? "up" : badge("disabled")),
    el("td", {}, a.availability_zone || "—"),
    el("td", { class: "num", title: "load as the API shows it (dhcp_load_type)" }, a.load),
    el("td", { class: "num" }, `${a.serves} ${a.serves_unit}`),
    el("td", { class: "num" }, `${a.heartbeat_age.toFixed(1)} s`))));
  if (!page.items.length) $("agents").append(emptyRow(8, "No agent matches."));
  pager("agent-pager", page, "agent_page");
}

function renderNetworks(page) {
  $("networks").replaceChildren(...page.items.map((n) => {
    const hosts = n.agents.map((a) => el("span",
      { class: `chip ${a.alive ? "" : "dead"}`, "data-host": a.host,
        title: `${a.agent_id}: ${a.alive ? "alive" : "dead"}, ${a.readiness}` },
      a.host, badge(a.readiness)));
    if (!hosts.length) {
      hosts.push(el("span", { class: n.needs_dhcp ? "none" : "muted" },
        n.needs_dhcp ? "no DHCP agent" : "no DHCP subnet"));
    }
    return el("tr", { class: n.at_risk ? "at-risk" : "", "data-network": n.id,
      "data-name": n.name, "data-hosts": n.agents.filter((a) => a.alive)
        .map((a) => a.host).join(",") },
      el("td", {}, n.name || "(no name)", el("div", { class: "id" }, n.id)),
      el("td", {}, ...hosts));
  }));
  if (!page.items.length) $("networks").append(emptyRow(2, "No network matches."));
  pager("network-pager", page, "network_page");
}

function emptyRow(span, text) {
  return el("tr", {}, el("td", { colspan: String(span), class: "muted" }, text));
}

function pager(id, page, key) {
  const first = page.total ? page.page * page.size + 1 : 0;
  const last = Math.min(page.total, (page.page + 1) * page.size);
  const prev = el("button", { type: "button" }, "‹ prev");
  const next = el("button", { type: "button" }, "next ›");
  prev.disabled = page.page === 0;
  next.disabled = last >= page.total;
  prev.onclick = () => { view[key] = page.page - 1; connect(); };
  next.onclick = () => { view[key] = page.page + 1; connect(); };
  $(id).replaceChildren(el("span", {}, `${first}–${last} of ${page.total}`), prev, next);
}

function renderMoves(moves) {
  // Drain and rebalance progress: what is still moving, make-before-break.
  const kinds = Object.entries(moves.by_kind).map(([k, n]) => `${n} ${k}`).join(", ");
  // Stuck: a target alive but not ready within dhcp_move_timeout, no other agent to try.
  const stuck = moves.stuck ? `, ${moves.stuck} stuck` : "";
  $("moves-count").textContent = moves.total ? `${moves.total} (${kinds}${stuck})` : "";
  $("moves").replaceChildren(...moves.items.map((m) => el("li", { "data-kind": m.kind },
    el("span", { class: "when" }, (m.since || "").replace("T", " ").slice(0, 19)),
    el("span", { class: `kind ${m.kind}` }, m.kind),
    el("span", {}, `${m.network}: ${m.from} → ${m.to || "?"} (${m.reason})`),
    ...(m.stuck_since ? [badge("stuck")] : []))));
  if (!moves.total) {
    $("moves").append(el("li", { class: "muted" }, "No moves in progress."));
  } else if (moves.total > moves.items.length) {
    $("moves").append(el("li", { class: "muted" },
      `… and ${moves.total - moves.items.length} more`));
  }
}

function renderTimeline(timeline) {
  if (!timeline) {
    $("timeline").replaceChildren(el("li", { class: "muted" },
      "This server keeps no event history."));
    return;
  }
  $("timeline").replaceChildren(...timeline.items.map((e) => el("li",
    { "data-kind": e.kind },
    el("span", { class: "when" }, e.time.replace("T", " ").slice(0, 19)),
    el("span", { class: `kind ${e.kind}` }, e.kind),
    el("span", {}, e.text))));
  if (!timeline.items.length) {
    $("timeline").append(el("li", { class: "muted" }, "Nothing has happened yet."));
  }
}

// ---- controls --------------------------------------------------------------------------

function debounce(fn, ms) {
  let timer = null;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
}

function wire() {
  $("login").addEventListener("submit", login);
  $("logout").addEventListener("click", logout);
  const research = debounce(connect, 300);
  $("agent-search").addEventListener("input", (e) => {
    view.agent_search = e.target.value; view.agent_page = 0; research(); });
  $("agent-state").addEventListener("change", (e) => {
    view.agent_state = e.target.value; view.agent_page = 0; connect(); });
  $("network-search").addEventListener("input", (e) => {
    view.network_search = e.target.value; view.network_page = 0; research(); });
  $("network-risk").addEventListener("change", (e) => {
    view.network_state = e.target.checked ? "at_risk" : ""; view.network_page = 0;
    connect(); });
  // A tab nobody looks at holds no stream on the server; it catches up when shown again.
  document.addEventListener("visibilitychange", () => {
    if (!token() || $("board").hidden) return;
    if (document.hidden) { stopStream(); setLink("paused", ""); } else connect();
  });
  if (token()) showBoard(); else showLogin("");
}

document.addEventListener("DOMContentLoaded", wire);
