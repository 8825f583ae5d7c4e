// The browser test's browser side (tests/integration/daemon_browser_test.cpp runs it): Debian's
// Chromium, driven by Playwright, on pages of two other origins than the daemon's.
//
//   node cross_origin_streams.mjs --work-dir DIR --artifacts DIR [--timeout-seconds N]
//
// 1. Serves page.html from two local origins, "app" and "other", each with a backend route
//    GET /token that mints a token with the read key (POST /streaming/tokens), and writes
//    their origins to <work-dir>/pages.json.
// 2. Waits for <work-dir>/daemon.json ({url, read_key, channel}): the test starts the daemon
//    with the app's origin in cors.allowed_origins, and not the other's.
// 3. The app page streams the channel over EventSource and WebSocket with ?access_token=;
//    both must receive StreamMessages for it (channel, metadata.seq increasing, the SSE id
//    being the message's id). An EventSource without a token must fail (401).
// 4. The other page's WebSocket, with a valid token, must be refused (403 at the handshake),
//    and its no-cors POST to stop-all must get an (opaque) answer; the test then checks that
//    the workers still run.
// 5. No console error but the refusals expected, screenshots of both pages in <artifacts>.
// Every wait is bounded; exit status 0 = passed, 1 = a check failed, 2 = it timed out.
import { Run } from "./harness.mjs";

import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const { values: options } = parseArgs({
    options: {
        "work-dir": { type: "string" },
        artifacts: { type: "string" },
        "timeout-seconds": { type: "string", default: "90" },
    },
});
if (!options["work-dir"] || !options.artifacts) {
    console.error("usage: cross_origin_streams.mjs --work-dir DIR --artifacts DIR");
    process.exit(64);
}
const workDir = options["work-dir"];
const run = new Run(Number(options["timeout-seconds"]));
const { check, step, remaining, failures } = run;
let context = null;

// ---- The pages' origins ------------------------------------------------------------------

const pageHtml = readFileSync(join(dirname(fileURLToPath(import.meta.url)), "page.html"));
let daemon = null;  // daemon.json, once the test has written it

// What an application's backend does: holds the key, gives its page a short-lived token.
async function mintToken() {
    const answer = await fetch(`${daemon.url}/streaming/tokens`, {
        method: "POST",
        headers: { Authorization: `Bearer ${daemon.read_key}`, "Content-Type": "application/json" },
        body: JSON.stringify({ channels: [daemon.channel], ttl_seconds: 120 }),
        signal: AbortSignal.timeout(10000),
    });
    const body = await answer.text();
    if (answer.status !== 200) throw new Error(`POST /streaming/tokens: ${answer.status} ${body}`);
    return JSON.parse(body).token;
}

function startOrigin() {
    const server = createServer(async (request, response) => {
        const path = new URL(request.url, "http://page").pathname;
        if (path === "/") {
            response.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
            response.end(pageHtml);
        } else if (path === "/token") {
            try {
                const token = await mintToken();
                response.writeHead(200, { "Content-Type": "application/json" });
                response.end(JSON.stringify({ token }));
            } catch (error) {
                response.writeHead(502, { "Content-Type": "text/plain" });
                response.end(String(error));
            }
        } else {
            response.writeHead(404).end();
        }
    });
    return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () =>
            resolve({ server, origin: `http://127.0.0.1:${server.address().port}` }));
    });
}

async function waitForDaemon() {
    const file = join(workDir, "daemon.json");
    while (!existsSync(file)) {
        if (run.expired()) throw new Error("no daemon.json from the test");
        await new Promise((done) => setTimeout(done, 50));
    }
    return JSON.parse(readFileSync(file, "utf8"));
}

// ---- The browser -------------------------------------------------------------------------

// Console errors a page may show: the refusals the test provokes, nothing else. `expected`
// holds [text pattern, pattern of the URL the message is about].
function watchConsole(page, name, expected) {
    const unexpected = [];
    page.on("console", (message) => {
        if (message.type() !== "error") return;
        const text = message.text();
        const url = message.location()?.url ?? "";
        if (expected.some(([pattern, about]) => pattern.test(text) && about.test(url + " " + text))) {
            step(`${name}: expected console error: ${text} (${url})`);
        } else {
            unexpected.push(`${text} (${url})`);
        }
    });
    page.on("pageerror", (error) => unexpected.push(`uncaught: ${error.message}`));
    return unexpected;
}

async function results(page, ready, what) {
    try {
        await page.waitForFunction(ready, null, { timeout: remaining(), polling: 100 });
    } catch (error) {
        failures.push(`${what}: ${error.message.split("\n")[0]}`);
    }
    return page.evaluate(() => window.results);
}

function regexEscape(text) {
    return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function checkStream(name, messages, channel) {
    check(messages.length >= 2, `${name}: ${messages.length} messages, expected at least 2`);
    let previous = -1;
    for (const message of messages) {
        check(message.channel === channel, `${name}: a message for '${message.channel}'`);
        const seq = message.metadata?.seq;
        if (!check(Number.isInteger(seq) && seq >= 0, `${name}: metadata.seq is ${seq}`)) continue;
        check(seq > previous, `${name}: metadata.seq ${seq} after ${previous}`);
        previous = seq;
    }
}

async function appPage(origin) {
    const page = await context.newPage();
    // The EventSource without a token: 401.
    const unexpected = watchConsole(page, "app", [
        [/^Failed to load resource: the server responded with a status of 401/,
         new RegExp(`^${regexEscape(daemon.url)}/streaming/subscribe/sse\\?channels=[^&]* `)],
    ]);
    const query = new URLSearchParams({ role: "app", daemon: daemon.url, channel: daemon.channel });
    await page.goto(`${origin}/?${query}`, { timeout: remaining() });
    step("app: page loaded, waiting for messages over EventSource and WebSocket");
    const seen = await results(
        page,
        () => results.sse.length >= 2 && results.ws.length >= 2 && results.sseWithoutToken !== null ||
              results.failures.length > 0,
        "app: waiting for two messages on each stream");
    step(`app: ${seen.sse.length} SSE and ${seen.ws.length} WebSocket messages`);
    check(seen.failures.length === 0, `app: ${seen.failures.join("; ")}`);
    checkStream("EventSource", seen.sse.map((item) => item.message), daemon.channel);
    for (const { lastEventId, message } of seen.sse)
        check(lastEventId === message.id, `EventSource: id ${lastEventId} for message ${message.id}`);
    checkStream("WebSocket", seen.ws, daemon.channel);
    check(seen.wsTypes[0] === "connected", `WebSocket: first frame '${seen.wsTypes[0]}'`);
    check(seen.sseWithoutToken?.readyState === 2,
          `EventSource without a token: ${JSON.stringify(seen.sseWithoutToken)}, expected CLOSED (2)`);
    await page.screenshot({ path: join(options.artifacts, "app.png"), fullPage: true });
    check(unexpected.length === 0, `app: console errors: ${unexpected.join(" | ")}`);
    await page.close();
}

async function otherPage(origin) {
    const page = await context.newPage();
    // The WebSocket refused, the no-cors POST answered 403.
    const ws = regexEscape(daemon.url.replace(/^http/, "ws"));
    const unexpected = watchConsole(page, "other", [
        [/Error during WebSocket handshake: Unexpected response code: 403$/,
         new RegExp(`WebSocket connection to '${ws}/streaming/ws\\?`)],
        [/^Failed to load resource: the server responded with a status of 403/,
         new RegExp(`^${regexEscape(daemon.url)}/streaming/config/workers/stop-all `)],
    ]);
    const query = new URLSearchParams({ role: "other", daemon: daemon.url, channel: daemon.channel });
    await page.goto(`${origin}/?${query}`, { timeout: remaining() });
    step("other: page loaded, waiting for its WebSocket and its no-cors POST");
    const seen = await results(
        page, () => results.wsRefused !== null && results.noCorsStopAll !== null ||
                    results.failures.length > 0,
        "other: waiting for the refused WebSocket and the no-cors POST");
    step(`other: WebSocket ${JSON.stringify(seen.wsRefused)}, POST ${JSON.stringify(seen.noCorsStopAll)}`);
    check(seen.failures.length === 0, `other: ${seen.failures.join("; ")}`);
    check(seen.wsRefused?.opened === false && seen.wsRefused?.code === 1006,
          `WebSocket from an unlisted origin: ${JSON.stringify(seen.wsRefused)}, expected refused (1006)`);
    // Opaque: the daemon answered (a network error would reject); what it said is hidden.
    check(seen.noCorsStopAll?.type === "opaque",
          `no-cors POST stop-all: ${JSON.stringify(seen.noCorsStopAll)}, expected an opaque answer`);
    await page.screenshot({ path: join(options.artifacts, "other.png"), fullPage: true });
    check(unexpected.length === 0, `other: console errors: ${unexpected.join(" | ")}`);
    await page.close();
}

async function main() {
    mkdirSync(options.artifacts, { recursive: true });
    const app = await startOrigin();
    const other = await startOrigin();
    const pages = join(workDir, "pages.json");
    writeFileSync(`${pages}.tmp`, JSON.stringify({ app: app.origin, other: other.origin }));
    renameSync(`${pages}.tmp`, pages);
    step(`pages at ${app.origin} (app) and ${other.origin} (other); waiting for the daemon`);
    daemon = await waitForDaemon();
    step(`daemon at ${daemon.url}; starting Chromium`);
    context = await run.launch(join(workDir, "chromium-profile"));
    try {
        await appPage(app.origin);
        await otherPage(other.origin);
    } finally {
        await context.close();
        app.server.close();
        other.server.close();
    }
}

await run.finish("browser test", main);
