// A small page driver for the browser tests (tests/e2e/browser.py starts it).
//
// Debian's chromium, driven by playwright-core from npm (package-lock.json), headless. It
// reads one JSON command per line on stdin and answers one JSON line on stdout, so the test
// in Python decides what happens when (pause the meter, look again) and asserts on the
// answers. Every answer is {"ok": true, ...} or {"ok": false, "error": "..."}.

import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const EXECUTABLE = process.env.CHROMIUM || "/usr/bin/chromium";
// As root in a container: no sandbox; no background traffic to Google on a closed network.
const ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];

let browser;
let context;
let page;
const consoleErrors = [];

// Everything in the page, shadow roots included, matching `selector`; "host >> inner"
// finds `inner` inside (the shadow root of) every `host`.
const deepQuery = (selector) => {
  const [host, inner] = selector.split(" >> ");
  const found = [];
  const walk = (root) => {
    root.querySelectorAll(host).forEach((el) => found.push(el));
    root.querySelectorAll("*").forEach((el) => el.shadowRoot && walk(el.shadowRoot));
  };
  walk(document);
  if (!inner) return found;
  return found.flatMap((el) => [...(el.shadowRoot || el).querySelectorAll(inner)]);
};

const ops = {
  async launch() {
    browser = await chromium.launch({ executablePath: EXECUTABLE, headless: true, args: ARGS });
    return { version: browser.version() };
  },

  // A fresh context with the front end's stored login (localStorage hassTokens) and a page.
  async open({ url, width, height, tokens, language, element }) {
    if (context) await context.close();
    context = await browser.newContext({ viewport: { width, height }, locale: language || "en-US" });
    const origin = new URL(url).origin;
    await context.addInitScript(
      ([origin, tokens]) => {
        if (location.origin === origin) localStorage.setItem("hassTokens", JSON.stringify(tokens));
      },
      [origin, tokens],
    );
    page = await context.newPage();
    page.on("console", async (msg) => {
      if (msg.type() !== "error") return;
      // console.error(object) reads "Object" as text: keep what it says.
      const args = await Promise.all(
        msg.args().map((arg) =>
          arg
            .evaluate((o) =>
              o instanceof Error ? o.stack : typeof o === "object" ? JSON.stringify(o, Object.getOwnPropertyNames(o)) : o,
            )
            .catch(() => null),
        ),
      );
      const detail = args.map((arg) => (typeof arg === "string" ? arg : JSON.stringify(arg))).join(" ");
      consoleErrors.push(detail && detail !== "null" ? detail : `${msg.text()} (${args.length} args at ${JSON.stringify(msg.location())})`);
    });
    page.on("pageerror", (err) => consoleErrors.push(`${err.name}: ${err.message} ${err.stack || ""}`));
    // A command the front end sends that Home Assistant refuses can stall it on "Loading".
    page.on("websocket", (socket) => {
      const sent = new Map();
      socket.on("framesent", (frame) => {
        try {
          const msg = JSON.parse(frame.payload);
          if (msg.id !== undefined) sent.set(msg.id, msg.type);
        } catch (err) {
          /* not JSON: ignore */
        }
      });
      socket.on("framereceived", (frame) => {
        try {
          const msgs = [].concat(JSON.parse(frame.payload));
          for (const msg of msgs) {
            if (msg.type === "result" && msg.success === false) {
              consoleErrors.push(`websocket ${sent.get(msg.id)}: ${JSON.stringify(msg.error)}`);
            }
          }
        } catch (err) {
          /* not JSON: ignore */
        }
      });
    });
    page.on("requestfailed", (req) => consoleErrors.push(`request failed: ${req.url()} ${req.failure()?.errorText}`));
    page.on("response", (res) => res.status() >= 400 && consoleErrors.push(`HTTP ${res.status()}: ${res.url()}`));
    await page.goto(url, { waitUntil: "domcontentloaded" });
    if (!element) return {};
    // The page must register `element` (a custom strategy gets 5 s from the front end).
    const began = Date.now();
    await page
      .waitForFunction((name) => window.customElements.get(name), element, { timeout: 30000 })
      .catch(() => {
        throw new Error(`${element} not registered after 30 s; console errors: ${JSON.stringify(consoleErrors)}`);
      });
    return { registered_ms: Date.now() - began };
  },

  // Wait until `count` elements (shadow DOM included) match `selector`.
  // On a time-out the page is kept as a screenshot (`failure`) and its console errors told.
  async wait({ selector, count = 1, timeout = 30000, failure }) {
    try {
      await page.waitForFunction(
        ([selector, count, deep]) => eval(deep)(selector).length >= count,
        [selector, count, `(${deepQuery.toString()})`],
        { timeout, polling: 250 },
      );
    } catch (err) {
      const found = await page.evaluate(
        ([selector, deep]) => eval(deep)(selector).length,
        [selector, `(${deepQuery.toString()})`],
      );
      if (failure) await page.screenshot({ path: failure, fullPage: true });
      throw new Error(
        `${found} of ${count} '${selector}' after ${timeout} ms at ${page.url()}` +
          `${failure ? ` (screenshot ${failure})` : ""}; console errors: ${JSON.stringify(consoleErrors)}`,
      );
    }
    return {};
  },

  // What the integration's dashboard shows: the cards, the graph, every row of the table.
  async dashboard() {
    const shown = await page.evaluate((deep) => {
      const query = eval(deep);
      const text = (el, selector) => (el.querySelector(selector) || {}).textContent?.trim() ?? null;
      const graphs = query("swiss-meter-power-card").map((card) => {
        const svg = card.shadowRoot && card.shadowRoot.querySelector("svg");
        const now = card.shadowRoot && card.shadowRoot.querySelector(".now .value");
        return {
          title: card.shadowRoot ? text(card.shadowRoot, ".card-header") : null,
          now: now ? now.textContent.trim() : null,
          points: svg ? Number(svg.dataset.points) : null,
          runs: svg ? Number(svg.dataset.runs) : null,
          gaps: svg ? Number(svg.dataset.gaps) : null,
          silent: svg ? svg.dataset.silent === "true" : null,
          paths: svg ? svg.querySelectorAll("path").length : 0,
          dots: svg ? svg.querySelectorAll("circle").length : 0,
          width: svg ? svg.getBoundingClientRect().width : 0,
        };
      });
      const rows = query("swiss-meter-values-card >> tr[data-obis]").map((tr) => ({
        obis: tr.dataset.obis,
        entity_id: tr.dataset.entity,
        name: text(tr, "td.name"),
        value: text(tr, "td.value"),
        unit: text(tr, "td.unit"),
        age: text(tr, "td.age"),
        stale: tr.classList.contains("stale"),
      }));
      const headers = query("hui-entities-card").map((card) =>
        card.shadowRoot ? (card.shadowRoot.querySelector(".card-header") || {}).textContent?.trim() : null,
      );
      const cards = query("ha-card").map((card) => {
        const box = card.getBoundingClientRect();
        return { left: box.left, right: box.right, width: box.width };
      });
      return {
        graphs,
        rows,
        entity_cards: headers,
        cards,
        inner_width: window.innerWidth,
        scroll_width: document.documentElement.scrollWidth,
        url: location.pathname,
      };
    }, `(${deepQuery.toString()})`);
    return { ...shown, console_errors: consoleErrors.splice(0) };
  },

  async screenshot({ path }) {
    await page.screenshot({ path, fullPage: true });
    return { path };
  },

  async evaluate({ expression }) {
    return { value: await page.evaluate(expression) };
  },

  async goto({ url }) {
    await page.goto(url, { waitUntil: "domcontentloaded" });
    return {};
  },

  // Open Settings > Dashboards > Add dashboard; does the dialog offer `name`?
  async add_dashboard_dialog({ base, name, path }) {
    await page.goto(`${base}/config/lovelace/dashboards`, { waitUntil: "domcontentloaded" });
    // A floating button (ha-fab) until 2025, a labelled ha-button since.
    const add = page.locator("ha-fab, ha-button").filter({ hasText: "Add dashboard" }).first();
    await add.waitFor({ timeout: 30000 });
    await add.click();
    const offer = page.getByText(name, { exact: false });
    let offered = true;
    try {
      await offer.first().waitFor({ timeout: 15000 }); // read from window.customStrategies
    } catch (err) {
      offered = false;
    }
    await page.waitForTimeout(1000); // the dialog fades in
    if (path) await page.screenshot({ path, fullPage: true });
    const strategies = await page.evaluate(() => (window.customStrategies || []).map((s) => s.name));
    return { offered, custom_strategies: strategies };
  },

  async close() {
    if (browser) await browser.close();
    browser = undefined;
    return {};
  },
};

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  let reply;
  try {
    const command = JSON.parse(line);
    const result = await ops[command.op](command);
    reply = { ok: true, ...result };
  } catch (err) {
    reply = { ok: false, error: String(err && err.stack ? err.stack : err) };
  }
  process.stdout.write(JSON.stringify(reply) + "\n");
}
if (browser) await browser.close();
