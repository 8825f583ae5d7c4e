// What the browser scripts share (cross_origin_streams.mjs, dashboard.mjs): Debian's Chromium
// launched one way, a deadline guarded by a watchdog, and the list of failed checks that
// decides the exit status: 0 = passed, 1 = a check failed, 2 = it timed out.
import { chromium } from "playwright-core";

// Chromium comes from Debian (deps.sh installs it), never from a download; without the
// background-networking flags it reaches for Google's services, which a closed network refuses.
const kChromium = "/usr/bin/chromium";
const kChromiumArgs = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

export class Run {
    constructor(timeoutSeconds) {
        const started = Date.now();
        const deadline = started + timeoutSeconds * 1000;
        this.failures = [];
        this.context = null;
        // Arrow functions, so that a script may take them apart: const { check, step } = run.
        this.remaining = () => Math.max(1000, deadline - Date.now());
        this.expired = () => Date.now() >= deadline;
        this.check = (condition, what) => {
            if (!condition) this.failures.push(what);
            return condition;
        };
        this.step = (what) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${what}`);
        // Nothing may hang: past the deadline, say so, close the browser and leave.
        this.watchdog = setTimeout(async () => {
            console.error(`timed out after ${timeoutSeconds}s`);
            await Promise.race([this.context?.close(), new Promise((done) => setTimeout(done, 5000))]);
            process.exit(2);
        }, timeoutSeconds * 1000 + 5000);
    }

    // Chromium with a fresh profile in `profileDir`; `options` go to Playwright.
    async launch(profileDir, options = {}) {
        this.context = await chromium.launchPersistentContext(profileDir, {
            executablePath: kChromium, headless: true, args: kChromiumArgs,
            timeout: this.remaining(), ...options,
        });
        this.step(`Chromium ${this.context.browser()?.version() ?? ""} started`);
        return this.context;
    }

    // Runs the script's body (an exception is a failure), then exits with its status.
    async finish(name, body) {
        try {
            await body();
        } catch (error) {
            this.failures.push(`${error.message}`);
        }
        clearTimeout(this.watchdog);
        this.step(this.failures.length === 0 ? `${name}: passed` : `${name}: FAILED`);
        for (const failure of this.failures)
            console.error(`  - ${failure}`);
        process.exit(this.failures.length === 0 ? 0 : 1);
    }
}
