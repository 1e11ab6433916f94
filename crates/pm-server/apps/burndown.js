"use strict";
// Sprint charts: the burndown (ideal line, scope, scope changes), velocity and cumulative flow
// from burndown_chart, velocity_chart and cfd_chart results, drawn as SVG with the values of the
// day or sprint under the pointer (or chosen with the arrow keys). A view not yet shown is asked
// for through the host, with chart: false (no PNG: this page draws it).
const VIEWS = [
  ["burndown", "Burndown", "burndown_chart"],
  ["velocity", "Velocity", "velocity_chart"],
  ["cfd", "Cumulative flow", "cfd_chart"],
];
const charts = { args: {}, data: {}, shown: null, loading: new Set(), project: null };
const W = 640;
const H = 260;
const PAD = { left: 44, right: 24, top: 12, bottom: 34 };

function kindOf(data) {
  if (!data || typeof data !== "object") return null;
  if (Array.isArray(data.sprints)) return "velocity";
  if (Array.isArray(data.days) && "committed" in data) return "burndown";
  if (Array.isArray(data.days) && "items" in data) return "cfd";
  return null;
}

function num(x) {
  return typeof x === "number" ? Math.round(x * 100) / 100 : "–";
}

// Axes for `n` positions (labels under some) and values 0..max; returns the x and y scales.
function frame(svg, n, max, labels) {
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const x = (i) => PAD.left + (n <= 1 ? plotW / 2 : (i * plotW) / (n - 1));
  const top = max > 0 ? max : 1;
  const y = (v) => PAD.top + plotH - (Math.max(0, v) / top) * plotH;
  for (let k = 0; k <= 4; k++) {
    const v = (top * k) / 4;
    svg.append(el("line", { class: "grid", x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v) }));
    svg.append(el("text", { class: "tick", x: PAD.left - 6, y: y(v) + 4, "text-anchor": "end" }, String(num(v))));
  }
  const every = Math.max(1, Math.ceil(n / 8));
  labels.forEach((l, i) => {
    if (i % every === 0 || i === n - 1) svg.append(el("text", { class: "tick", x: x(i), y: H - PAD.bottom + 16, "text-anchor": "middle" }, l));
  });
  return { x, y };
}

function line(points, cls) {
  const d = points.filter((p) => p[1] !== null && p[1] !== undefined).map((p, i) => (i ? "L" : "M") + p[0].toFixed(1) + " " + p[1].toFixed(1)).join(" ");
  return d ? el("path", { class: cls, d }) : null;
}

// The pointer's day (or sprint): a cursor line and the values, also by keyboard. The pointer is followed
// over the whole chart (the markers on top keep their own titles).
function hover(svg, n, x, describe) {
  const tip = document.getElementById("tip");
  const cursor = el("line", { class: "cursor", y1: PAD.top, y2: H - PAD.bottom, visibility: "hidden" });
  svg.insertBefore(cursor, svg.firstChild);
  let at = -1;
  const show = (i) => {
    at = Math.max(0, Math.min(n - 1, i));
    cursor.setAttribute("x1", x(at));
    cursor.setAttribute("x2", x(at));
    cursor.setAttribute("visibility", "visible");
    tip.textContent = describe(at);
  };
  const plot = el("rect", { class: "hit", x: PAD.left - 8, y: PAD.top, width: W - PAD.left - PAD.right + 16, height: H - PAD.top - PAD.bottom });
  svg.insertBefore(plot, svg.firstChild);
  svg.addEventListener("mousemove", (e) => {
    const box = svg.getBoundingClientRect();
    const px = ((e.clientX - box.left) / box.width) * W;
    const step = n <= 1 ? 1 : (W - PAD.left - PAD.right) / (n - 1);
    show(Math.round((px - PAD.left) / step));
  });
  svg.setAttribute("tabindex", "0");
  svg.addEventListener("keydown", (e) => {
    if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
      e.preventDefault();
      show(at < 0 ? 0 : at + (e.key === "ArrowRight" ? 1 : -1));
    }
  });
  svg.addEventListener("focus", () => at < 0 && n > 0 && show(n - 1));
}

function legend(items) {
  return el("div", { class: "legend" }, items.map(([cls, text]) => el("span", {}, el("i", { class: "swatch " + cls }), text)));
}

function burndown(b) {
  const days = b.days || [];
  const unit = b.unit || "";
  const out = [
    el("p", { class: "sub" }, b.sprint_name + " · committed " + num(b.committed) + " · scope " + num(b.scope) + " · done " + num(b.completed) + " · remaining " + num(b.remaining) + " " + unit),
    el("p", { class: "sub" }, "After the start: +" + num(b.added) + " added, −" + num(b.removed) + " removed, " + (b.re_estimated >= 0 ? "+" : "") + num(b.re_estimated) + " re-estimated"),
  ];
  if (!days.length) return out.concat(el("p", {}, "Nothing to draw: the sprint has no start."));
  const svg = el("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": "Burndown of " + b.sprint_name });
  const max = Math.max(...days.map((d) => Math.max(d.ideal || 0, d.scope || 0, d.remaining || 0)));
  const { x, y } = frame(svg, days.length, max, days.map((d) => d.date.slice(5)));
  svg.append(line(days.map((d, i) => [x(i), y(d.ideal)]), "ideal"));
  svg.append(line(days.map((d, i) => [x(i), d.scope === null ? null : y(d.scope)]), "scope"));
  svg.append(line(days.map((d, i) => [x(i), d.remaining === null ? null : y(d.remaining)]), "remaining"));
  const byDay = new Map();
  for (const c of b.scope_changes || []) {
    const day = c.at.slice(0, 10);
    if (!byDay.has(day)) byDay.set(day, []);
    byDay.get(day).push(c);
  }
  const change = (c) => (c.change === "added" ? "added " : c.change === "removed" ? "removed " : "re-estimated ") + c.item_id + " (" + (c.delta >= 0 ? "+" : "") + num(c.delta) + ")";
  days.forEach((d, i) => {
    const here = byDay.get(d.date);
    if (here && d.scope !== null) {
      svg.append(el("circle", { class: "change", cx: x(i), cy: y(d.scope), r: 5 }, el("title", {}, d.date + ": " + here.map(change).join("; "))));
    }
  });
  hover(svg, days.length, x, (i) => {
    const d = days[i];
    const changes = byDay.get(d.date);
    return d.date + " — remaining " + num(d.remaining) + " · ideal " + num(d.ideal) + " · scope " + num(d.scope) + " · done " + num(d.completed) + " " + unit + (changes ? " · " + changes.map(change).join("; ") : "");
  });
  return out.concat(svg, legend([["remaining", "Remaining"], ["ideal", "Ideal"], ["scope", "Scope"], ["change", "Scope change"]]));
}

function velocity(v) {
  const sprints = v.sprints || [];
  const out = [el("p", { class: "sub" }, "Mean completed " + num(v.mean_completed) + " of " + num(v.mean_committed) + " committed " + (v.unit || "") + " · trend " + v.trend)];
  if (!sprints.length) return out.concat(el("p", {}, "No closed sprint to show."));
  const svg = el("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": "Velocity" });
  const max = Math.max(...sprints.map((s) => Math.max(s.committed, s.completed)));
  const n = sprints.length;
  const { y } = frame(svg, 0, max, []);
  const slot = (W - PAD.left - PAD.right) / n;
  const x = (i) => PAD.left + slot * (i + 0.5);
  sprints.forEach((s, i) => {
    const bar = Math.min(28, slot / 3);
    svg.append(el("rect", { class: "committed", x: x(i) - bar, y: y(s.committed), width: bar, height: y(0) - y(s.committed) }));
    svg.append(el("rect", { class: "completed", x: x(i), y: y(s.completed), width: bar, height: y(0) - y(s.completed) }));
    svg.append(el("text", { class: "tick", x: x(i), y: H - PAD.bottom + 16, "text-anchor": "middle" }, s.name.length > 14 ? s.name.slice(0, 13) + "…" : s.name));
  });
  if (typeof v.mean_completed === "number") svg.append(el("line", { class: "mean", x1: PAD.left, x2: W - PAD.right, y1: y(v.mean_completed), y2: y(v.mean_completed) }));
  hover(svg, n, x, (i) => {
    const s = sprints[i];
    return s.name + " — committed " + num(s.committed) + " · completed " + num(s.completed) + (typeof s.completion_rate === "number" ? " · " + Math.round(s.completion_rate * 100) + " %" : "") + (s.counted ? "" : " · not counted (not closed)");
  });
  return out.concat(svg, legend([["committed", "Committed"], ["completed", "Completed"], ["mean", "Mean completed"]]));
}

function cfd(c) {
  const days = c.days || [];
  const out = [el("p", { class: "sub" }, c.from + " → " + c.to + " · " + c.items + " items")];
  if (!days.length) return out.concat(el("p", {}, "No day to draw."));
  const svg = el("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": "Cumulative flow" });
  const max = Math.max(...days.map((d) => d.todo + d.in_progress + d.done));
  const { x, y } = frame(svg, days.length, max, days.map((d) => d.date.slice(5)));
  const band = (lower, upper, cls) => {
    const top = days.map((d, i) => x(i).toFixed(1) + "," + y(upper(d)).toFixed(1));
    const bottom = days.map((d, i) => x(i).toFixed(1) + "," + y(lower(d)).toFixed(1)).reverse();
    svg.append(el("polygon", { class: cls, points: top.concat(bottom).join(" ") }));
  };
  band(() => 0, (d) => d.done, "done");
  band((d) => d.done, (d) => d.done + d.in_progress, "in-progress");
  band((d) => d.done + d.in_progress, (d) => d.done + d.in_progress + d.todo, "todo");
  hover(svg, days.length, x, (i) => {
    const d = days[i];
    return d.date + " — to do " + d.todo + " · in progress " + d.in_progress + " · done " + d.done;
  });
  return out.concat(svg, legend([["todo", "To do"], ["in-progress", "In progress"], ["done", "Done"]]));
}

function render() {
  const tabs = document.getElementById("tabs");
  tabs.replaceChildren(
    ...VIEWS.map(([kind, name]) =>
      el("button", { role: "tab", "aria-selected": String(charts.shown === kind), "data-view": kind, onclick: () => openView(kind) }, name)
    )
  );
  const panel = document.getElementById("panel");
  document.getElementById("tip").textContent = "";
  const data = charts.data[charts.shown];
  if (charts.loading.has(charts.shown)) {
    panel.replaceChildren(el("p", { class: "sub" }, "Asking the tracker…"));
    return;
  }
  if (!data) {
    panel.replaceChildren();
    return;
  }
  const draw = { burndown, velocity, cfd }[charts.shown];
  panel.replaceChildren(...draw(data), (data.assumptions || []).length ? el("ul", { class: "notes" }, data.assumptions.map((a) => el("li", {}, a))) : "");
}

// The project the charts are of: named in the call, else the sprint's (from one of its tasks); asked for
// once however many views want it. Rejects with the words of a refusal.
function project() {
  if (!charts.project) {
    charts.project = (async () => {
      if (charts.args.project_id) return charts.args.project_id;
      const sprint = sprintId();
      if (!sprint) return null;
      const r = await host.callTool("get_sprint_tasks", { sprint_id: sprint, limit: 1 });
      if (!r.ok) throw new Error(r.text || "the sprint's tasks could not be read");
      const task = r.data && (r.data.tasks || [])[0];
      return (task && task.project_id) || null;
    })();
    charts.project.catch(() => {
      charts.project = null;
    });
  }
  return charts.project;
}

// The sprint as the tracker resolved it (a burndown names it by id), else as the call named it.
function sprintId() {
  return (charts.data.burndown && charts.data.burndown.sprint_id) || charts.args.sprint_id || null;
}

async function openView(kind) {
  charts.shown = kind;
  if (charts.data[kind]) {
    say("", "info");
    render();
    return;
  }
  if (charts.loading.has(kind)) {
    render();
    return;
  }
  charts.loading.add(kind);
  render();
  try {
    const [, name, tool] = VIEWS.find((v) => v[0] === kind);
    const args = { chart: false };
    if (kind === "burndown") {
      if (sprintId()) args.sprint_id = sprintId();
      else args.project_id = await project();
    } else {
      args.project_id = await project();
      if (kind === "cfd" && sprintId()) args.sprint_id = sprintId();
    }
    if (!args.sprint_id && !args.project_id) {
      say(name + " needs a project: ask for " + tool + " with a project_id.", "error");
      return;
    }
    const r = await host.callTool(tool, args);
    if (r.ok && kindOf(r.data) === kind) {
      charts.data[kind] = r.data;
      say("", "info");
    } else say(name + " could not be drawn: " + (r.text || "the answer held no chart"), "error");
  } catch (e) {
    say(VIEWS.find((v) => v[0] === kind)[1] + " could not be drawn: " + e.message, "error");
  } finally {
    charts.loading.delete(kind);
    render();
  }
}

host.on["ui/notifications/tool-input"] = (p) => {
  charts.args = p.arguments || {};
};
host.on["ui/notifications/tool-result"] = (result) => {
  if (result.isError) {
    say("The chart could not be drawn: " + host.text(result), "error");
    return;
  }
  const kind = kindOf(result.structuredContent);
  if (!kind) {
    say("This answer holds no chart to draw.", "error");
    return;
  }
  charts.data[kind] = result.structuredContent;
  charts.shown = kind;
  render();
};
host.on["ui/notifications/tool-cancelled"] = (p) => say("The chart was not drawn: " + (p.reason || "cancelled"), "error");

host.start("pm-mcp sprint charts").catch((e) => say("The host did not start the charts: " + e.message, "error"));
