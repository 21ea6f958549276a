// Unit tests of the dashboard module's pure parts (node --test; run by test_frontend.py).
import assert from "node:assert/strict";
import { test } from "node:test";

// The module registers custom elements once the front end's root element exists: give it
// just enough of a browser to load and register.
const defined = new Map([["home-assistant", class {}]]);
globalThis.HTMLElement = class {};
globalThis.window = globalThis;
globalThis.customElements = { get: (name) => defined.get(name), define: (name, cls) => defined.set(name, cls) };
globalThis.document = { querySelector: () => null };
const { dashboardConfig, powerRange, powerRuns } = await import(
  "../../custom_components/swiss_meter_cii/frontend/swiss-meter-dashboard.js"
);

const x = (t) => t; // seconds -> "pixels" 1:1, so paths read in seconds
const y = (w) => -w;

test("registers the strategy, both cards and lists them", async () => {
  await new Promise((resolve) => setTimeout(resolve, 50));
  for (const name of ["ll-strategy-dashboard-swiss-meter-cii", "swiss-meter-power-card", "swiss-meter-values-card"]) {
    assert.ok(defined.has(name), name);
  }
  assert.deepEqual(window.customStrategies.map((s) => [s.type, s.strategyType]), [["swiss-meter-cii", "dashboard"]]);
  assert.equal(window.customCards.length, 2);
});

test("each push holds its value until the next; a missed push breaks the line", () => {
  // Pushes every 5 s, one missing at t=20 (the next comes 10 s after the last).
  const points = [[0, 100], [5, 200], [10, 200], [15, 150], [25, 300], [30, 300]];
  const { runs, gaps, silent } = powerRuns(points, 32, 5, -300, x, y);
  assert.equal(gaps, 1);
  assert.equal(silent, false);
  assert.equal(runs.length, 2);
  // Steps, never slopes: only H and V segments after the start.
  for (const run of runs) assert.match(run.d, /^M[-\d.]+,[-\d.]+(?:[HV][-\d.]+)+$/);
  assert.equal(runs[0].d, "M0.0,-100.0V-100.0H5.0V-200.0H10.0V-200.0H15.0V-150.0H20.0");
  assert.equal(runs[1].d, "M25.0,-300.0V-300.0H30.0V-300.0H32.0");
});

test("a silent meter ends its line one interval after the last push", () => {
  const { runs, gaps, silent } = powerRuns([[0, 100], [5, 100]], 60, 5, -240, x, y);
  assert.equal(silent, true);
  assert.equal(gaps, 0);
  assert.equal(runs.length, 1);
  assert.ok(runs[0].d.endsWith("H10.0"), runs[0].d);
});

test("import and export are separate paths that join at the sign change", () => {
  const { runs } = powerRuns([[0, 500], [5, -800], [10, -700]], 12, 5, -288, x, y);
  assert.deepEqual(runs.map((r) => r.cls), ["import", "export"]);
  assert.ok(runs[1].d.startsWith("M5.0,-500.0V800.0"), runs[1].d);
});

test("points before the window are left out", () => {
  const { runs } = powerRuns([[-400, 1], [-395, 1], [0, 2]], 1, 5, -300, x, y);
  assert.equal(runs.length, 1);
  assert.ok(runs[0].d.startsWith("M0.0"), runs[0].d);
});

test("the y range spreads the values and shows zero near them", () => {
  assert.deepEqual(powerRange([]), [0, 100]);
  assert.deepEqual(powerRange([500, 520]), [450, 570]); // at least 50 W of margin
  assert.deepEqual(powerRange([100, 1000]), [0, 1100]); // close to zero: from zero
  assert.deepEqual(powerRange([-2000, 1000]), [-2300, 1300]);
  assert.deepEqual(powerRange([-900, -100]), [-990, 0]);
});

test("one sections view per meter: graph and table first, totals beside them", () => {
  const t = { title: "T", net: "Net", imported: "Import", values: "Values", energy: "Energy", submeters: "Sub", link: "Link", none: "none" };
  const meter = {
    entry_id: "e1",
    title: "Landis+Gyr E450 123",
    meter: "123",
    net_power: "sensor.net",
    import_power: "sensor.imp",
    export_power: "sensor.exp",
    values: [
      { obis: "1-1:1.8.0.255", entity_id: "sensor.a", name: "A+", group: "energy_import" },
      { obis: "0-1:24.2.1.255", entity_id: "sensor.gas", name: "Gas", group: "submeter" },
      { obis: "1-0:32.7.0.255", entity_id: "sensor.u1", name: "U1", group: "voltage" },
    ],
    link: [{ entity_id: "sensor.link", name: "Link" }],
  };
  const config = dashboardConfig([meter], t);
  const [view] = config.views;
  assert.equal(view.type, "sections");
  assert.equal(view.path, "123");
  const [live, totals] = view.sections;
  assert.equal(live.column_span, 2);
  assert.deepEqual(live.cards.map((c) => [c.type, c.entry_id, c.title]), [
    ["custom:swiss-meter-power-card", "e1", "Net"],
    ["custom:swiss-meter-values-card", "e1", "Values"],
  ]);
  assert.deepEqual(totals.cards.map((c) => [c.title, c.entities.map((e) => e.entity)]), [
    ["Energy", ["sensor.a"]],
    ["Sub", ["sensor.gas"]],
    ["Link", ["sensor.link"]],
  ]);
  const consumer = dashboardConfig([{ ...meter, net_power: null, export_power: null }], t);
  assert.equal(consumer.views[0].sections[0].cards[0].title, "Import");
  assert.equal(dashboardConfig([], t).views[0].cards[0].content, "none");
});
