// Dashboard of the Swiss Meter CII integration: a dashboard strategy and two cards.
//
// Served by the integration (dashboard.py) and loaded in every browser with
// frontend.add_extra_js_url. Home Assistant 2026.5+ lists the strategy under
// "Add dashboard" (window.customStrategies); on any release a dashboard whose
// configuration is
//   strategy:
//     type: custom:swiss-meter-cii
// uses it. Per meter it shows: the net power of every push of the last 5 minutes
// (swiss-meter-power-card), every value with its age (swiss-meter-values-card),
// the energy totals per tariff, the sub-meters and the link diagnostics.
//
// Both cards take each push from the integration (WebSocket subscription
// swiss_meter_cii/live), not from the recorder: a recorded history has no point for a
// push that repeated the last value, and a history graph joins the points it has.
// The power graph holds each push's value until the next push and leaves a gap where a
// push is missing: it never draws a value the meter did not send.

const STRATEGY = "swiss-meter-cii";
const POWER_CARD = "swiss-meter-power-card";
const VALUES_CARD = "swiss-meter-values-card";
const WINDOW_S = 300; // the live window: 5 minutes
const MISSED = 1.5; // a push later than 1.5 intervals after the last one: one was missed

const TEXT = {
  en: {
    title: "Smart meter",
    net: "Net power (import − export), last 5 minutes",
    imported: "Power import, last 5 minutes",
    values: "Every value the meter pushes",
    energy: "Energy totals per tariff",
    submeters: "Gas, water and heat meters",
    link: "Link diagnostics",
    waiting: "No push yet. Values appear here with the meter's first push.",
    none: "No Swiss Meter CII meter is set up. Add it under Settings > Devices & services.",
    description: "Live power, every value and the link of your smart meters",
    name: "Name",
    value: "Value",
    unit: "Unit",
    age: "Last push",
    now: "now",
    ago: "ago",
    gap: "no push",
    pushes: "pushes",
  },
  de: {
    title: "Smart Meter",
    net: "Nettoleistung (Bezug − Lieferung), letzte 5 Minuten",
    imported: "Bezugsleistung, letzte 5 Minuten",
    values: "Alle Werte, die der Zähler sendet",
    energy: "Energiezähler je Tarif",
    submeters: "Gas-, Wasser- und Wärmezähler",
    link: "Verbindungsdiagnose",
    waiting: "Noch kein Push. Die Werte erscheinen mit dem ersten Push des Zählers.",
    none: "Kein Swiss-Meter-CII-Zähler eingerichtet. Unter Einstellungen > Geräte & Dienste hinzufügen.",
    description: "Leistung live, alle Werte und die Verbindung Ihrer Smart Meter",
    name: "Name",
    value: "Wert",
    unit: "Einheit",
    age: "Letzter Push",
    now: "jetzt",
    ago: "her",
    gap: "kein Push",
    pushes: "Pushes",
  },
  fr: {
    title: "Compteur intelligent",
    net: "Puissance nette (soutirée − injectée), 5 dernières minutes",
    imported: "Puissance soutirée, 5 dernières minutes",
    values: "Toutes les valeurs envoyées par le compteur",
    energy: "Index d'énergie par tarif",
    submeters: "Compteurs de gaz, d'eau et de chaleur",
    link: "Diagnostic de la liaison",
    waiting: "Aucun envoi pour l'instant. Les valeurs apparaissent au premier envoi du compteur.",
    none: "Aucun compteur Swiss Meter CII configuré. Ajoutez-le sous Paramètres > Appareils et services.",
    description: "Puissance en direct, toutes les valeurs et la liaison de vos compteurs",
    name: "Nom",
    value: "Valeur",
    unit: "Unité",
    age: "Dernier envoi",
    now: "maintenant",
    ago: "",
    gap: "pas d'envoi",
    pushes: "envois",
  },
  it: {
    title: "Contatore intelligente",
    net: "Potenza netta (prelevata − immessa), ultimi 5 minuti",
    imported: "Potenza prelevata, ultimi 5 minuti",
    values: "Tutti i valori inviati dal contatore",
    energy: "Totali di energia per tariffa",
    submeters: "Contatori di gas, acqua e calore",
    link: "Diagnostica del collegamento",
    waiting: "Nessun invio finora. I valori compaiono al primo invio del contatore.",
    none: "Nessun contatore Swiss Meter CII configurato. Aggiungerlo in Impostazioni > Dispositivi e servizi.",
    description: "Potenza in tempo reale, tutti i valori e il collegamento dei contatori",
    name: "Nome",
    value: "Valore",
    unit: "Unità",
    age: "Ultimo invio",
    now: "ora",
    ago: "fa",
    gap: "nessun invio",
    pushes: "invii",
  },
};

const text = (hass) => TEXT[((hass && hass.language) || "en").slice(0, 2)] || TEXT.en;

const escape = (value) =>
  String(value).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

// -- the integration's push feed, shared by every card of a page ------------------------

// entry id -> {listeners, points [[t, watts]], received {code: t}, interval, offset, ...}
const feeds = new Map();

const median = (values) => {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

class Feed {
  constructor(hass, entryId) {
    this.entryId = entryId;
    this.listeners = new Set();
    this.points = [];
    this.received = {};
    this.interval = null; // the push interval the server knows (until we measured one)
    this.offset = 0; // server time - browser time, in seconds
    this.ready = false;
    this.meter = null;
    this.subscribe(hass);
  }

  subscribe(hass) {
    this.unsubscribe = hass.connection
      .subscribeMessage((event) => this.onEvent(hass, event), { type: "swiss_meter_cii/live", entry_id: this.entryId })
      .catch((err) => {
        this.error = err && err.message ? err.message : String(err);
        this.notify();
      });
  }

  onEvent(hass, event) {
    if (event.closed) {
      // The entry is reloading: its new coordinator has a new window.
      this.ready = false;
      setTimeout(() => this.listeners.size && this.subscribe(hass), 3000);
      this.notify();
      return;
    }
    if (event.points !== undefined) {
      this.offset = event.now - Date.now() / 1000;
      this.points = event.points;
      this.received = event.received;
      this.interval = event.interval;
      this.meter = event.meter;
      this.ready = true;
    } else {
      if (event.meter !== this.meter) {
        this.points = [];
        this.received = {};
        this.meter = event.meter;
      }
      for (const code of event.codes) this.received[code] = event.t;
      if (event.net !== undefined) this.points.push([event.t, event.net]);
    }
    const oldest = this.now() - WINDOW_S - 60;
    while (this.points.length && this.points[0][0] < oldest) this.points.shift();
    this.notify();
  }

  now() {
    return Date.now() / 1000 + this.offset;
  }

  // The push interval: measured over the window, else the one the integration stored.
  pushInterval() {
    const deltas = [];
    for (let i = 1; i < this.points.length; i++) deltas.push(this.points[i][0] - this.points[i - 1][0]);
    return (deltas.length >= 2 ? median(deltas) : null) || this.interval || 10;
  }

  notify() {
    for (const listener of this.listeners) listener();
  }
}

const joinFeed = (hass, entryId, listener) => {
  let feed = feeds.get(entryId);
  if (!feed) {
    feed = new Feed(hass, entryId);
    feeds.set(entryId, feed);
  }
  feed.listeners.add(listener);
  return () => {
    feed.listeners.delete(listener);
    if (feed.listeners.size === 0) {
      feeds.delete(entryId);
      Promise.resolve(feed.unsubscribe).then((unsub) => typeof unsub === "function" && unsub());
    }
  };
};

const formatAge = (seconds, t) => {
  if (seconds < 1.5) return t.now;
  const s = Math.round(seconds);
  const span = s < 60 ? `${s} s` : s < 3600 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return t.ago ? `${span} ${t.ago}` : span;
};

// -- base of both cards: config, feed membership, a render tick -------------------------

class LiveCard extends HTMLElement {
  setConfig(config) {
    if (!config || !config.entry_id) throw new Error("entry_id is required (a Swiss Meter CII config entry)");
    this.config = config;
    this.render();
  }

  set hass(hass) {
    const first = !this._hass;
    this._hass = hass;
    if (first && this.isConnected) this.join();
    this.render();
  }

  connectedCallback() {
    if (this._hass) this.join();
    this.timer = setInterval(() => this.render(), 1000);
  }

  disconnectedCallback() {
    clearInterval(this.timer);
    if (this.leave) this.leave();
    this.leave = undefined;
    this.feed = undefined;
  }

  join() {
    if (this.leave || !this.config) return;
    this.leave = joinFeed(this._hass, this.config.entry_id, () => this.render());
    this.feed = feeds.get(this.config.entry_id);
  }

  shell(title) {
    if (!this.shadowRoot) {
      this.attachShadow({ mode: "open" });
      this.shadowRoot.innerHTML = `<style>${CARD_STYLE}</style><ha-card><h1 class="card-header"></h1><div class="body"></div></ha-card>`;
    }
    this.shadowRoot.querySelector(".card-header").textContent = title || "";
    this.shadowRoot.querySelector(".card-header").hidden = !title;
    return this.shadowRoot.querySelector(".body");
  }
}

const CARD_STYLE = `
  ha-card { overflow: hidden; }
  .card-header { margin: 0; padding: 12px 16px 4px; font-size: var(--ha-card-header-font-size, 20px); font-weight: normal; }
  .body { padding: 0 16px 12px; }
  .now { font-size: 28px; line-height: 36px; }
  .now small { font-size: 14px; color: var(--secondary-text-color); margin-left: 8px; }
  svg { display: block; width: 100%; height: 180px; }
  svg text { font-size: 11px; fill: var(--secondary-text-color); }
  .axis { stroke: var(--divider-color, #ccc); stroke-width: 1; }
  .zero { stroke: var(--secondary-text-color); stroke-width: 1; stroke-dasharray: 3 3; }
  .import { stroke: var(--energy-grid-consumption-color, #488fc2); fill: var(--energy-grid-consumption-color, #488fc2); }
  .export { stroke: var(--energy-grid-return-color, #8353d1); fill: var(--energy-grid-return-color, #8353d1); }
  path.import, path.export { fill: none; stroke-width: 2; }
  .legend { color: var(--secondary-text-color); font-size: 12px; }
  table { width: 100%; border-collapse: collapse; font-size: 14px; }
  th { text-align: left; font-weight: 500; color: var(--secondary-text-color); padding: 4px 4px 4px 0; }
  td { padding: 4px 4px 4px 0; border-top: 1px solid var(--divider-color, #eee); vertical-align: top; }
  td.value, th.value { text-align: right; }
  td.value.number { white-space: nowrap; }
  td.unit, td.age { white-space: nowrap; color: var(--secondary-text-color); }
  td.name { width: 45%; }
  tr.stale td { opacity: 0.5; }
`;

// -- the live power graph -------------------------------------------------------------

// The y range for `values` (W): their spread with a margin, at least 100 W; zero is in it
// when the values come near it (or change sign), so import and export read at a glance.
export const powerRange = (values) => {
  if (values.length === 0) return [0, 100];
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (lo > 0 && lo < hi * 0.5) lo = 0;
  if (hi < 0 && hi > lo * 0.5) hi = 0;
  const pad = Math.max((hi - lo) * 0.1, 50);
  return [lo === 0 ? 0 : lo - pad, hi === 0 ? 0 : hi + pad];
};

// SVG paths of the pushes in [start, now]: each push holds its value until the next push;
// where the next push came later than 1.5 intervals (one or more missed) the path breaks,
// and a meter silent for that long ends its last path. `x`/`y` map seconds/watts to pixels.
// Returns the paths (one per unbroken run and sign), the gaps and whether the meter is
// silent now.
export const powerRuns = (points, now, interval, start, x, y) => {
  const late = interval * MISSED;
  const runs = [];
  let run = null;
  let gaps = 0;
  for (let i = 0; i < points.length; i++) {
    const [time, watts] = points[i];
    const next = points[i + 1];
    const joined = next ? next[0] - time <= late : now - time <= late;
    if (next && !joined && next[0] > start) gaps++;
    const end = next && joined ? next[0] : Math.min(now, time + interval);
    if (end <= start) continue;
    const cls = watts < 0 ? "export" : "import";
    const x0 = x(Math.max(time, start)).toFixed(1);
    const y0 = y(watts).toFixed(1);
    if (!run || run.cls !== cls) {
      // A new path; on a change of sign it starts where the last one ended.
      run = { cls, d: `M${x0},${run ? run.y : y0}V${y0}` };
      runs.push(run);
    } else {
      run.d += `V${y0}`;
    }
    run.d += `H${x(end).toFixed(1)}`;
    run.y = y0;
    if (!joined) run = null;
  }
  const silent = points.length > 0 && now - points[points.length - 1][0] > late;
  return { runs, gaps, silent };
};


class SwissMeterPowerCard extends LiveCard {
  static getStubConfig() {
    return { entry_id: "" };
  }

  getCardSize() {
    return 5;
  }

  getGridOptions() {
    return { columns: "full", min_columns: 6 };
  }

  render() {
    if (!this.config) return;
    const t = text(this._hass);
    const body = this.shell(this.config.title);
    const feed = this.feed;
    if (!feed || !feed.ready) {
      body.innerHTML = `<div class="legend">${escape(feed && feed.error ? feed.error : t.waiting)}</div>`;
      return;
    }
    const width = Math.max(body.clientWidth || 320, 200);
    const height = 180;
    const left = 48;
    const bottom = 18;
    const now = feed.now();
    const start = now - WINDOW_S;
    const points = feed.points.filter((p) => p[0] >= start - 60);
    const interval = feed.pushInterval();
    const shown = points.filter((p) => p[0] >= start);
    const [lo, hi] = powerRange(shown.map((p) => p[1]));
    const x = (time) => left + ((time - start) / WINDOW_S) * (width - left - 4);
    const y = (watts) => 4 + (1 - (watts - lo) / (hi - lo)) * (height - bottom - 8);
    const { runs, gaps, silent } = powerRuns(points, now, interval, start, x, y);
    const dots = shown
      .map((p) => `<circle class="${p[1] < 0 ? "export" : "import"}" cx="${x(p[0]).toFixed(1)}" cy="${y(p[1]).toFixed(1)}" r="2.2"></circle>`)
      .join("");
    const ticks = [];
    for (let m = 5; m >= 0; m--) {
      const tx = x(now - m * 60);
      ticks.push(`<line class="axis" x1="${tx}" x2="${tx}" y1="${height - bottom}" y2="${height - bottom + 4}"></line>`);
      ticks.push(`<text x="${tx}" y="${height - 4}" text-anchor="${m === 0 ? "end" : "middle"}">${m === 0 ? t.now : `−${m} min`}</text>`);
    }
    const label = (watts) => `<text x="${left - 6}" y="${y(watts) + 4}" text-anchor="end">${Math.round(watts).toLocaleString()} W</text>`;
    const last = points.length ? points[points.length - 1] : null;
    const current = last && !silent ? `${Math.round(last[1]).toLocaleString()} W` : "—";
    body.innerHTML = `
      <div class="now"><span class="value">${escape(current)}</span><small>${shown.length} ${escape(t.pushes)}${gaps || silent ? ` · ${gaps + (silent ? 1 : 0)}× ${escape(t.gap)}` : ""}</small></div>
      <svg viewBox="0 0 ${width} ${height}" data-points="${shown.length}" data-runs="${runs.length}" data-gaps="${gaps}" data-silent="${silent}" role="img" aria-label="${escape(this.config.title || "")}">
        <line class="axis" x1="${left}" x2="${width - 4}" y1="${height - bottom}" y2="${height - bottom}"></line>
        ${lo <= 0 && hi >= 0 ? `<line class="zero" x1="${left}" x2="${width - 4}" y1="${y(0)}" y2="${y(0)}"></line>` : ""}
        ${label(hi)}${label(lo)}${lo < 0 && hi > 0 ? label(0) : ""}
        ${ticks.join("")}
        ${runs.map((r) => `<path class="${r.cls}" d="${r.d}"></path>`).join("")}
        ${dots}
      </svg>`;
  }
}

// -- the table of every value ---------------------------------------------------------

class SwissMeterValuesCard extends LiveCard {
  static getStubConfig() {
    return { entry_id: "" };
  }

  getCardSize() {
    return 2 + (this.values ? this.values.length : 4);
  }

  getGridOptions() {
    return { columns: "full", min_columns: 6 };
  }

  // Which entities show the meter's values: asked once, and again when a push brings a
  // code the table does not have yet (a new list, or the first push after set-up).
  async load() {
    if (this.loading) return;
    this.loading = true;
    try {
      const reply = await this._hass.callWS({ type: "swiss_meter_cii/dashboard" });
      const meter = reply.meters.find((item) => item.entry_id === this.config.entry_id);
      this.values = meter ? meter.values : [];
    } catch (err) {
      this.values = [];
    } finally {
      this.loading = false;
    }
    this.render();
  }

  missing() {
    if (!this.values) return true;
    const feed = this.feed;
    if (!feed) return false;
    this.tried = this.tried || new Set();
    const known = new Set(this.values.map((value) => value.obis));
    const fresh = Object.keys(feed.received).filter((code) => !known.has(code) && !this.tried.has(code));
    for (const code of fresh) this.tried.add(code);
    return fresh.length > 0;
  }

  formatted(stateObj) {
    const unit = stateObj.attributes.unit_of_measurement || "";
    if (["unavailable", "unknown"].includes(stateObj.state)) return ["—", unit];
    let shown = this._hass.formatEntityState ? this._hass.formatEntityState(stateObj) : stateObj.state;
    if (unit && shown.endsWith(unit)) shown = shown.slice(0, -unit.length).trim();
    return [shown, unit];
  }

  render() {
    if (!this.config || !this._hass) return;
    if (this.missing()) this.load();
    const t = text(this._hass);
    const body = this.shell(this.config.title);
    const feed = this.feed;
    const now = feed ? feed.now() : Date.now() / 1000;
    const interval = feed ? feed.pushInterval() : 10;
    const rows = (this.values || []).map((value) => {
      const stateObj = this._hass.states[value.entity_id];
      if (!stateObj) return "";
      const [shown, unit] = this.formatted(stateObj);
      const at = feed && feed.received[value.obis];
      const age = at ? formatAge(now - at, t) : "—";
      const stale = !at || now - at > 3 * Math.max(interval, 10);
      return `<tr data-obis="${escape(value.obis)}" data-entity="${escape(value.entity_id)}"${stale ? ' class="stale"' : ""}>
        <td class="name">${escape(value.name)}</td><td class="value${isNaN(Number(stateObj.state)) ? "" : " number"}">${escape(shown)}</td>
        <td class="unit">${escape(unit)}</td><td class="age">${escape(age)}</td></tr>`;
    });
    body.innerHTML = rows.some((row) => row)
      ? `<table><thead><tr><th>${escape(t.name)}</th><th class="value">${escape(t.value)}</th><th>${escape(t.unit)}</th><th>${escape(t.age)}</th></tr></thead><tbody>${rows.join("")}</tbody></table>`
      : `<div class="legend">${escape(t.waiting)}</div>`;
  }
}

// -- the strategy ---------------------------------------------------------------------

const entityRows = (values) => values.map((value) => ({ entity: value.entity_id, name: value.name }));

// The cards of one meter, in the order a user reads them.
// One sections view per meter: the power graph and the value table side by side with
// the totals on a wide screen (the table spans two columns), one below the other on a
// phone. The graph and the table come first and always: before the first push they say
// they are waiting, and fill in with it.
export const meterSections = (meter, t) => {
  const importOnly = meter.import_power && !meter.export_power && !meter.net_power;
  const live = [
    { type: `custom:${POWER_CARD}`, entry_id: meter.entry_id, title: importOnly ? t.imported : t.net },
    { type: `custom:${VALUES_CARD}`, entry_id: meter.entry_id, title: t.values },
  ];
  const totals = [];
  const energy = meter.values.filter((value) => value.group === "energy_import" || value.group === "energy_export");
  if (energy.length > 0) totals.push({ type: "entities", title: t.energy, entities: entityRows(energy) });
  const submeters = meter.values.filter((value) => value.group === "submeter");
  if (submeters.length > 0) totals.push({ type: "entities", title: t.submeters, entities: entityRows(submeters) });
  if (meter.link.length > 0) totals.push({ type: "entities", title: t.link, entities: entityRows(meter.link) });
  const sections = [{ type: "grid", column_span: 2, cards: live }];
  if (totals.length > 0) sections.push({ type: "grid", cards: totals });
  return sections;
};

export const dashboardConfig = (meters, t) => {
  if (meters.length === 0) {
    return { title: t.title, views: [{ title: t.title, cards: [{ type: "markdown", content: t.none }] }] };
  }
  return {
    title: t.title,
    views: meters.map((meter) => ({
      type: "sections",
      max_columns: 3,
      title: meter.title,
      path: String(meter.meter || meter.entry_id).toLowerCase().replace(/[^a-z0-9]+/g, "-"),
      icon: "mdi:meter-electric",
      sections: meterSections(meter, t),
    })),
  };
};

class SwissMeterDashboardStrategy extends HTMLElement {
  static async generate(_config, hass) {
    const reply = await hass.callWS({ type: "swiss_meter_cii/dashboard" });
    return dashboardConfig(reply.meters, text(hass));
  }
}

const define = (name, element) => {
  if (!window.customElements.get(name)) window.customElements.define(name, element);
};

const register = () => {
  define(POWER_CARD, SwissMeterPowerCard);
  define(VALUES_CARD, SwissMeterValuesCard);
  if (window.customElements.get(`ll-strategy-dashboard-${STRATEGY}`)) return;
  define(`ll-strategy-dashboard-${STRATEGY}`, SwissMeterDashboardStrategy);
  const hass = document.querySelector("home-assistant")?.hass;
  window.customStrategies = window.customStrategies || [];
  window.customStrategies.push({
    type: STRATEGY,
    strategyType: "dashboard",
    name: "Swiss Meter CII",
    description: text(hass).description,
    documentationURL: "https://github.com/swiss-meter-cii/swiss_meter_cii#dashboard",
  });
  window.customCards = window.customCards || [];
  window.customCards.push(
    { type: POWER_CARD, name: "Swiss Meter CII: live power", description: "Every push of the last 5 minutes" },
    { type: VALUES_CARD, name: "Swiss Meter CII: values", description: "Every value the meter pushes, with its age" },
  );
};

// This module is imported as the page loads, often before the front end has set up its
// custom element registry: it may then replace window.customElements (a scoped-registry
// polyfill), and what was defined in the first one is not found (seen on 2025.4 with
// chromium, one load in two). So the elements are defined once the front end's own root
// element exists, in the registry it uses; at the latest after 30 s.
const started = Date.now();
const whenReady = () => {
  if (window.customElements.get("home-assistant") || Date.now() - started > 30000) register();
  else setTimeout(whenReady, 25);
};
whenReady();
