// The dashboard test's browser side (tests/integration/daemon_dashboard_test.cpp runs it):
// Debian's Chromium, driven by Playwright, on GET /dashboard of a daemon with auth on.
//
//   node dashboard.mjs --url URL --key KEY --read-key KEY --channel CHANNEL --worker ID
//                      --work-dir DIR --artifacts DIR [--timeout-seconds N]
//
// 1. The page loads (HTML, its Content-Security-Policy), asks for a credential (GET / is 401:
//    the one console error expected), and takes the key typed into its field.
// 2. It shows the service status, the workers (ID running), the vendor instances and the
//    telemetry charts (a uPlot canvas for latency, bars for the error classes).
// 3. The live tail of CHANNEL shows a message arrive, over an EventSource whose URL carries a
//    minted token (?access_token=), never the key itself.
// 4. A screenshot goes to <artifacts>/dashboard.png; then the worker's stop button is clicked
//    and the page shows it stopped (the test then checks that through the REST API).
// 5. With the read key (KEY is admin), the worker's start button gets a 403 the page shows,
//    and the worker stays stopped.
// Every wait is bounded; exit status 0 = passed, 1 = a check failed, 2 = it timed out.
import { Run } from "./harness.mjs";

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values: options } = parseArgs({
    options: {
        url: { type: "string" },
        key: { type: "string" },
        "read-key": { type: "string" },
        channel: { type: "string" },
        worker: { type: "string" },
        "work-dir": { type: "string" },
        artifacts: { type: "string" },
        "timeout-seconds": { type: "string", default: "60" },
    },
});
for (const name of ["url", "key", "read-key", "channel", "worker", "work-dir", "artifacts"]) {
    if (!options[name]) {
        console.error(`usage: dashboard.mjs: --${name} is required`);
        process.exit(64);
    }
}
const run = new Run(Number(options["timeout-seconds"]));
const { check, step, remaining, failures } = run;

async function waitFor(page, what, predicate, argument) {
    try {
        await page.waitForFunction(predicate, argument, { timeout: remaining(), polling: 100 });
        step(what);
        return true;
    } catch (error) {
        failures.push(`${what}: ${error.message.split("\n")[0]}`);
        return false;
    }
}

async function main() {
    mkdirSync(options.artifacts, { recursive: true });
    const context = await run.launch(join(options["work-dir"], "chromium-profile"),
                                     { viewport: { width: 1360, height: 900 } });
    const page = await context.newPage();

    // Console errors: only the 401 of GET / before the key is given, and the 403 of the start
    // button with the read key.
    const unexpected = [];
    let keyGiven = false;
    let readKeyGiven = false;
    const start = `${options.url}/streaming/config/workers/${options.worker}/start`;
    page.on("console", (message) => {
        if (message.type() !== "error") return;
        const text = message.text();
        const url = message.location()?.url ?? "";
        if ((!keyGiven && /status of 401/.test(text) && url === `${options.url}/`) ||
            (readKeyGiven && /status of 403/.test(text) && url === start)) {
            step(`expected console error: ${text} (${url})`);
        } else {
            unexpected.push(`${text} (${url})`);
        }
    });
    page.on("pageerror", (error) => unexpected.push(`uncaught: ${error.message}`));
    const requests = [];
    page.on("request", (request) => requests.push(request.url()));

    const response = await page.goto(`${options.url}/dashboard`, { timeout: remaining() });
    check(response.status() === 200, `GET /dashboard: ${response.status()}`);
    const headers = response.headers();
    check(headers["content-type"] === "text/html; charset=utf-8",
          `GET /dashboard: Content-Type ${headers["content-type"]}`);
    check(/script-src 'self'/.test(headers["content-security-policy"] ?? ""),
          `GET /dashboard: Content-Security-Policy ${headers["content-security-policy"]}`);

    // 1. A credential.
    await waitFor(page, "the page asks for a credential",
                  () => document.getElementById("credential-form").classList.contains("wanted"));
    await page.fill("#credential", options.key);
    await page.click("#credential-use");
    keyGiven = true;
    check(await page.evaluate(() => sessionStorage.getItem("tickerd.credential")) === options.key,
          "the key is kept in sessionStorage");

    // 2. Status, workers, vendors, charts.
    await waitFor(page, "the service status shows", () =>
        document.getElementById("status-list").children.length > 0 &&
        /version/.test(document.getElementById("service-line").textContent));
    await waitFor(page, `${options.worker} shows running`, (worker) =>
        document.querySelector(`tr[data-worker="${worker}"] [data-field="status"]`)?.textContent === "running",
        options.worker);
    await waitFor(page, "the vendor instances show", () =>
        document.querySelectorAll("#instance-rows tr").length > 0 &&
        document.querySelectorAll("#plugin-rows tr").length > 0);
    await waitFor(page, "the telemetry charts are drawn", () =>
        document.querySelector("#latency-chart .uplot canvas") !== null &&
        document.querySelectorAll("#error-chart .bar-row").length > 0);

    // 3. The live tail.
    await waitFor(page, "the channel list shows", (channel) =>
        [...document.getElementById("tail-channel").options].some((o) => o.value === channel),
        options.channel);
    await page.selectOption("#tail-channel", options.channel);
    await page.click("#tail-toggle");
    await waitFor(page, "a message arrives in the live tail",
                  () => document.querySelectorAll("#tail-list li").length >= 2);
    const streams = requests.filter((url) => url.includes("/streaming/subscribe/sse"));
    check(streams.length > 0, "no EventSource request");
    for (const url of streams) {
        const query = new URL(url).searchParams;
        check(query.get("channels") === options.channel, `the stream asks for ${query.get("channels")}`);
        check(query.get("access_token") && query.get("access_token") !== options.key,
              "the stream's URL carries a minted token, not the key");
    }
    check(requests.every((url) => !url.includes(options.key)), "the key appeared in a URL");
    await page.waitForTimeout(300);  // the charts' last frame
    const screenshot = join(options.artifacts, "dashboard.png");
    await page.screenshot({ path: screenshot, fullPage: true });
    step(`screenshot: ${screenshot}`);

    // 4. Stop the worker from the page.
    await page.click(`button[data-worker="${options.worker}"][data-action="stop"]`);
    await waitFor(page, `${options.worker} shows stopped`, (worker) =>
        document.querySelector(`tr[data-worker="${worker}"] [data-field="status"]`)?.textContent === "stopped",
        options.worker);
    check(await page.isVisible("#alerts"), "the alerts section shows the configured webhook");
    check(await page.isVisible("#alerts-none"), "the alerts section says none is firing");
    const hooks = await page.textContent("#alert-webhooks");
    check(hooks.includes("http://127.0.0.1:9/tickerd-hook: 0 delivered, 0 waiting"),
          `the webhook line reads: ${hooks}`);
    await page.screenshot({ path: join(options.artifacts, "dashboard-stopped.png"), fullPage: true });

    // 5. A read key: everything shows, the buttons are refused.
    await page.fill("#credential", options["read-key"]);
    await page.click("#credential-use");
    readKeyGiven = true;
    await waitFor(page, "the start button is enabled", (worker) =>
        document.querySelector(`button[data-worker="${worker}"][data-action="start"]`)?.disabled === false,
        options.worker);
    await page.click(`button[data-worker="${options.worker}"][data-action="start"]`);
    await waitFor(page, "the refusal shows", () =>
        !document.getElementById("notice").hidden &&
        /admin/.test(document.getElementById("notice").textContent));
    await waitFor(page, `${options.worker} still shows stopped`, (worker) =>
        document.querySelector(`tr[data-worker="${worker}"] [data-field="status"]`)?.textContent === "stopped",
        options.worker);
    check(unexpected.length === 0, `console errors: ${unexpected.join(" | ")}`);
}

await run.finish("dashboard test", async () => {
    try {
        await main();
    } finally {
        await run.context?.close();
    }
});
