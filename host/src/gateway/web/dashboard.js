// The dashboard (GET /dashboard): plain JavaScript over the daemon's own REST API and one SSE
// stream, no build step. Every URL is relative to the page, so it works behind a reverse proxy
// that serves the daemon under a prefix.
//
// Auth: with auth on, the user pastes an API key or token; it is kept in sessionStorage (gone
// when the tab closes) and sent as `Authorization: Bearer` on every fetch. EventSource cannot
// send headers, so the live tail first mints a short-lived read token for its one channel
// (POST /streaming/tokens) and puts that in `?access_token=`: the pasted key never sits in a URL.
//
// Everything the daemon says is put on the page with textContent, never as HTML.
"use strict";

const kCredentialKey = "tickerd.credential";
const kRefreshMs = 5000;
const kTelemetryLimit = 200;
const kTailLength = 50;

const $ = (id) => document.getElementById(id);
const api = (path) => new URL(path, new URL(".", location.href)).toString();

let credential = sessionStorage.getItem(kCredentialKey) || "";
let needsCredential = false;

// ---- Small helpers -------------------------------------------------------------------------

function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
        if (name === "class") node.className = value;
        else if (name.startsWith("data-")) node.setAttribute(name, value);
        else node[name] = value;
    }
    for (const child of children) {
        if (child === null || child === undefined) continue;
        node.append(child instanceof Node ? child : String(child));
    }
    return node;
}

function time(iso) {
    if (!iso) return "–";
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? iso : date.toLocaleTimeString([], { hour12: false });
}

function duration(seconds) {
    const s = Math.floor(seconds);
    const parts = [[Math.floor(s / 86400), "d"], [Math.floor(s / 3600) % 24, "h"],
                   [Math.floor(s / 60) % 60, "m"], [s % 60, "s"]];
    const shown = parts.filter(([n], i) => n > 0 || i === parts.length - 1);
    return shown.slice(0, 2).map(([n, unit]) => `${n}${unit}`).join(" ");
}

// One line of news for the user. What a button did stays until the next click; what the
// refresh loop says goes when a refresh succeeds.
let noticeFromRefresh = false;
function notice(text, fromRefresh = false) {
    const node = $("notice");
    node.textContent = text || "";
    node.hidden = !text;
    noticeFromRefresh = fromRefresh;
}

class HttpError extends Error {
    constructor(status, detail) {
        super(`${status}: ${detail}`);
        this.status = status;
        this.detail = detail;
    }
}

// A call to the daemon's API: JSON in and out, errors as HttpError with the daemon's detail.
async function call(method, path, body) {
    const headers = {};
    if (credential) headers.Authorization = `Bearer ${credential}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const answer = await fetch(api(path), {
        method, headers, cache: "no-store",
        body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (answer.status === 401) {
        needsCredential = true;
        $("credential-form").classList.add("wanted");
    }
    const text = await answer.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { json = null; }
    if (!answer.ok) throw new HttpError(answer.status, json?.detail ?? text);
    return json;
}

// ---- Service status -----------------------------------------------------------------------

function showStatus(status) {
    $("service-line").textContent =
        `${status.status} · version ${status.version} · up ${duration(status.uptime_seconds)}`;
    const rows = [
        ["role", status.role],
        ["bus", status.bus],
        ["redis", status.redis?.enabled
            ? (status.redis.connected ? "connected" : `down: ${status.redis.last_error ?? "not connected"}`)
            : "off"],
        ["streaming", status.streaming?.enabled === false ? "off" : "on"],
        ["workers running", `${status.workers.running} of ${status.workers.total}`],
        ["plugins", `${status.plugins.loaded} loaded, ${status.plugins.refused} refused`],
        ["vendor instances ready", `${status.plugins.vendors_ready} of ${status.plugins.vendors}`],
    ];
    $("status-list").replaceChildren(
        ...rows.flatMap(([name, value]) => [el("dt", {}, name), el("dd", {}, value)]));
}

// ---- Workers ------------------------------------------------------------------------------

async function changeWorker(id, action, button) {
    button.disabled = true;
    try {
        await call("POST", `streaming/config/workers/${encodeURIComponent(id)}/${action}`);
        notice("");
    } catch (error) {
        notice(`${action} ${id}: ${error.detail ?? error.message}`);
    }
    await refreshWorkers();
}

function workerRow(worker) {
    const running = worker.status === "running";
    const state = worker.stalled ? "running (stalled)" : worker.status;
    const button = (action, enabled) => {
        const node = el("button", { type: "button", disabled: !enabled, "data-worker": worker.worker_id,
                                    "data-action": action }, action);
        node.addEventListener("click", () => changeWorker(worker.worker_id, action, node));
        return node;
    };
    return el("tr", { "data-worker": worker.worker_id },
        el("td", {}, worker.worker_id),
        el("td", { class: `state state-${worker.stalled ? "stalled" : worker.status}`,
                   "data-field": "status" }, state),
        el("td", { class: "time" }, time(worker.last_run)),
        el("td", { class: "time" }, running ? time(worker.next_run) : "–"),
        el("td", {}, worker.success_count),
        el("td", {}, worker.error_count),
        el("td", {}, worker.current_vendor ?? "–"),
        el("td", { class: "error-text" }, worker.last_error ?? ""),
        el("td", { class: "actions" }, button("start", !running), button("stop", running)));
}

let dataTypes = [];

async function refreshWorkers() {
    const workers = await call("GET", "streaming/config/workers");
    $("worker-rows").replaceChildren(...workers.map(workerRow));
    const types = workers.map((worker) => worker.data_type);
    if (types.join() !== dataTypes.join()) {
        dataTypes = types;
        const select = $("telemetry-type");
        const chosen = select.value || "market_data";
        select.replaceChildren(...types.map((type) => el("option", { value: type }, type)));
        select.value = types.includes(chosen) ? chosen : types[0] ?? "";
    }
}

// ---- Vendors ------------------------------------------------------------------------------

function budget(instance) {
    const b = instance.budget;
    if (!b) return "unlimited";
    const parts = [];
    for (const [unit, used, limit] of [["min", b.used_last_minute, b.per_minute],
                                       ["h", b.used_last_hour, b.per_hour],
                                       ["day", b.used_last_day, b.per_day]]) {
        if (limit > 0) parts.push(`${used ?? 0}/${limit} per ${unit}`);
    }
    return parts.join(", ") || "unlimited";
}

function refusal(plugin) {
    if (plugin.state === "refused") return `${plugin.reason}: ${plugin.error}`;
    if (plugin.update_refused) {
        const u = plugin.update_refused;
        return `update refused ${time(u.at)}: ${u.reason}: ${u.error}`;
    }
    return "";
}

async function refreshVendors() {
    const vendors = await call("GET", "streaming/config/vendors");
    $("instance-rows").replaceChildren(...vendors.instances.map((instance) =>
        el("tr", { "data-instance": instance.name },
            el("td", {}, instance.name, instance.simulated ? el("span", { class: "tag" }, "simulated") : null),
            el("td", {}, instance.plugin),
            el("td", {}, instance.priority),
            el("td", { class: `state state-${instance.enabled ? instance.state : "disabled"}` },
               instance.enabled ? instance.state : "disabled",
               instance.error ? el("div", { class: "error-text" }, instance.error) : null),
            el("td", {}, budget(instance)),
            el("td", {}, instance.benched ? `${instance.benched.reason} until ${time(instance.benched.until)}` : "–"),
            el("td", {}, instance.stuck_calls))));
    $("plugin-rows").replaceChildren(...vendors.plugins.map((plugin) =>
        el("tr", {},
            el("td", {}, plugin.name),
            el("td", {}, plugin.version),
            el("td", {}, plugin.abi_version),
            el("td", { class: `state state-${plugin.state}` }, plugin.state),
            el("td", { class: "file" }, plugin.file),
            el("td", { class: "error-text" }, refusal(plugin)))));
}

// ---- Alerts ---------------------------------------------------------------------------------

// The system alerts firing now and each webhook's outcomes; the section shows once there is
// something to show.
async function refreshAlerts() {
    const alerts = await call("GET", "streaming/alerts");
    $("alert-list").replaceChildren(...alerts.firing.map((alert) =>
        el("li", { class: `alert severity-${alert.severity}`, "data-rule": alert.rule },
            el("span", { class: "tag" }, alert.severity),
            ` ${alert.summary} `,
            el("span", { class: "muted" }, `since ${time(alert.since)}`))));
    $("alert-webhooks").replaceChildren(...alerts.webhooks.map((hook) =>
        el("li", {}, `${hook.url}: ${hook.delivered} delivered, ${hook.queued} waiting, ` +
                     `${hook.failed_attempts} failed attempts` +
                     (hook.last?.error ? ` (last: ${hook.last.error})` : ""))));
    $("alerts-none").hidden = alerts.firing.length > 0;
    $("alerts").hidden = alerts.firing.length === 0 && alerts.webhooks.length === 0 &&
                         alerts.raised.system_firing === 0;
}

// ---- Telemetry charts ---------------------------------------------------------------------

const kPalette = ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2", "#be185d"];
let latencyChart = null;
let latencyVendors = "";  // the series the chart was made for

// One series per vendor instance, on the times of every call (uPlot wants one x axis).
function latencySeries(records) {
    const sorted = [...records].sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp));
    const vendors = [...new Set(sorted.map((r) => r.instance ?? r.vendor))];
    const xs = sorted.map((r) => Date.parse(r.timestamp) / 1000);
    const ys = vendors.map((vendor) =>
        sorted.map((r) => ((r.instance ?? r.vendor) === vendor ? r.latency_ms : null)));
    return { vendors, data: [xs, ...ys] };
}

// New data for the same vendors goes into the chart as it is (keeping the user's cursor and
// zoom); other vendors make a new chart.
function drawLatency(records) {
    const target = $("latency-chart");
    const { vendors, data } = latencySeries(records);
    if (latencyChart && records.length > 0 && vendors.join() === latencyVendors) {
        latencyChart.setData(data);
        return;
    }
    latencyChart?.destroy();
    latencyChart = null;
    latencyVendors = vendors.join();
    if (records.length === 0) {
        target.replaceChildren(el("p", { class: "empty" }, "no vendor calls yet"));
        return;
    }
    target.replaceChildren();
    latencyChart = new uPlot({
        width: Math.max(320, target.clientWidth),
        height: 220,
        scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
        axes: [{}, { label: "ms", size: 50 }],
        series: [{}, ...vendors.map((vendor, i) => ({
            label: vendor, stroke: kPalette[i % kPalette.length], spanGaps: true, width: 1.5,
            points: { show: true, size: 4 },
        }))],
    }, data, target);
}

function drawErrorClasses(records) {
    const counts = new Map();
    for (const r of records) {
        const name = r.success ? "ok" : (r.error_class ?? "error");
        counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    const target = $("error-chart");
    if (counts.size === 0) {
        target.replaceChildren(el("p", { class: "empty" }, "no vendor calls yet"));
        return;
    }
    const most = Math.max(...counts.values());
    const entries = [...counts.entries()].sort((a, b) => b[1] - a[1]);
    target.replaceChildren(...entries.map(([name, count]) => {
        const bar = el("span", { class: `bar ${name === "ok" ? "bar-ok" : "bar-error"}` });
        bar.style.width = `${(100 * count) / most}%`;
        return el("div", { class: "bar-row", "data-class": name },
            el("span", { class: "bar-label" }, name),
            el("span", { class: "bar-track" }, bar),
            el("span", { class: "bar-count" }, count));
    }));
}

async function refreshTelemetry() {
    const type = $("telemetry-type").value;
    if (!type) return;
    const records = await call("GET",
        `streaming/config/telemetry/${encodeURIComponent(type)}?limit=${kTelemetryLimit}`);
    drawLatency(records);
    drawErrorClasses(records);
}

// ---- Live tail over SSE -------------------------------------------------------------------

let tail = null;  // {source, channel, retry}

async function channels() {
    const { channels: list } = await call("GET", "streaming/channels");
    const select = $("tail-channel");
    const names = list.map((c) => c.channel);
    const current = [...select.options].map((o) => o.value);
    if (names.join() === current.join()) return;
    const chosen = select.value;
    select.replaceChildren(...names.map((name) => el("option", { value: name }, name)));
    if (names.includes(chosen)) select.value = chosen;
}

// A read token for just this channel, or "" without auth (the daemon answers 409: none needed).
async function streamToken(channel) {
    if (!credential) return "";
    try {
        // No ttl_seconds: the daemon's auth.jwt.token_ttl_seconds, the longest it allows.
        const minted = await call("POST", "streaming/tokens", { scopes: ["read"], channels: [channel] });
        return minted.token;
    } catch (error) {
        if (error.status === 409) return "";
        throw error;
    }
}

function summary(message) {
    const d = message.data ?? {};
    if (typeof d.price === "number") {
        const change = typeof d.change_percent === "number" ? ` (${d.change_percent.toFixed(2)} %)` : "";
        return `${d.price}${d.currency ? " " + d.currency : ""}${change}`;
    }
    if (Array.isArray(d.items)) return `${d.items.length} items: ${d.items[0]?.title ?? ""}`;
    const keys = Object.keys(d).filter((k) => k !== "symbol");
    return keys.slice(0, 4).map((k) => `${k}=${JSON.stringify(d[k])}`).join(" ");
}

function showMessage(message) {
    const list = $("tail-list");
    list.prepend(el("li", { class: "tail-message", "data-id": message.id },
        el("time", {}, time(message.timestamp)),
        el("span", { class: "seq" }, `#${message.metadata?.seq ?? "?"}`),
        el("span", { class: "vendor" }, message.vendor),
        el("span", { class: "summary" }, summary(message))));
    while (list.children.length > kTailLength) list.lastChild.remove();
}

async function startTail() {
    const channel = $("tail-channel").value;
    if (!channel) return;
    stopTail();
    const state = $("tail-state");
    state.textContent = `connecting to ${channel}…`;
    const mine = { channel, source: null, retry: null };
    tail = mine;
    $("tail-toggle").textContent = "Stop";
    let token;
    try {
        token = await streamToken(channel);
    } catch (error) {
        state.textContent = `no token for the stream: ${error.detail ?? error.message}`;
        return;
    }
    if (tail !== mine) return;  // stopped or restarted meanwhile
    const query = new URLSearchParams({ channels: channel });
    if (token) query.set("access_token", token);
    const source = new EventSource(api(`streaming/subscribe/sse?${query}`));
    mine.source = source;
    source.onopen = () => { state.textContent = `streaming ${channel}`; };
    source.onmessage = (event) => {
        try { showMessage(JSON.parse(event.data)); } catch { /* not a StreamMessage: ignore */ }
    };
    source.onerror = () => {
        if (source.readyState !== EventSource.CLOSED) {
            state.textContent = `reconnecting to ${channel}…`;
            return;  // the browser retries by itself
        }
        // Refused (an expired token ends the stream and the retry gets a 401): a new token.
        state.textContent = `stream closed; trying again in 3 s`;
        mine.retry = setTimeout(() => { if (tail === mine) startTail(); }, 3000);
    };
}

function stopTail() {
    if (!tail) return;
    tail.source?.close();
    clearTimeout(tail.retry);
    tail = null;
    $("tail-toggle").textContent = "Start";
    $("tail-state").textContent = "stopped";
}

// ---- Refresh loop and credential -----------------------------------------------------------

let refreshing = false;

async function refresh() {
    if (refreshing) return;
    refreshing = true;
    try {
        showStatus(await call("GET", ""));
        needsCredential = false;
        $("credential-form").classList.remove("wanted");
        await Promise.all([refreshWorkers(), refreshVendors(), refreshAlerts(), channels()]);
        await refreshTelemetry();
        if (noticeFromRefresh) notice("");
    } catch (error) {
        if (needsCredential) {
            $("service-line").textContent = "this daemon needs a credential";
            notice(credential ? `the credential was refused: ${error.detail}`
                              : "auth is on: enter an API key or token above", true);
        } else {
            notice(`${error.detail ?? error.message}`, true);
        }
    } finally {
        refreshing = false;
    }
}

function useCredential(value) {
    credential = value.trim();
    if (credential) sessionStorage.setItem(kCredentialKey, credential);
    else sessionStorage.removeItem(kCredentialKey);
    $("credential").value = "";
    $("credential").placeholder = credential ? "a credential is set for this tab" : "needed when auth is on";
    if (tail) startTail();  // a new credential, a new token
    refresh();
}

function main() {
    $("credential-form").addEventListener("submit", (event) => {
        event.preventDefault();
        useCredential($("credential").value);
    });
    $("credential-forget").addEventListener("click", () => useCredential(""));
    $("credential").placeholder = credential ? "a credential is set for this tab" : "needed when auth is on";
    $("telemetry-type").addEventListener("change", () => {
        latencyChart?.destroy();  // another data type: a chart of its own
        latencyChart = null;
        refreshTelemetry().catch(() => {});
    });
    window.addEventListener("resize", () =>
        latencyChart?.setSize({ width: Math.max(320, $("latency-chart").clientWidth), height: 220 }));
    $("tail-channel").addEventListener("change", () => { if (tail) startTail(); });
    $("tail-toggle").addEventListener("click", () => (tail ? stopTail() : startTail()));
    refresh();
    setInterval(refresh, kRefreshMs);
}

main();
