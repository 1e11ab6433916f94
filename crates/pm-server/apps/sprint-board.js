"use strict";
// The sprint board: a get_sprint_tasks result in columns by status category, one lane per
// status. Dropping a card on a lane (or choosing the status from the card's menu) calls
// update_task_status; the card then shows what the tracker answered, or its refusal in words.
const CATEGORIES = [
  ["todo", "To do"],
  ["in_progress", "In progress"],
  ["done", "Done"],
];
const board = {
  sprint: null,
  tasks: [],
  // The call's arguments (a status filter, a page size), and the cursor of the next page.
  args: {},
  next: null,
  // "category|status name in lower case" -> { name, category }, in the order first seen: a lane each.
  statuses: new Map(),
  moving: new Set(),
  dragged: null,
  // Whether the host passes tool calls on (else the board only shows), and the card whose menu had focus.
  canCall: true,
  focus: null,
};

function statusKey(status) {
  return status.category + "|" + status.name.toLowerCase();
}

function learn(status) {
  if (status && typeof status.name === "string" && !board.statuses.has(statusKey(status))) {
    board.statuses.set(statusKey(status), { name: status.name, category: status.category });
  }
}

function sameStatus(a, b) {
  return a.category === b.category && a.name.toLowerCase() === b.name.toLowerCase();
}

function label(task) {
  return task.key || task.id;
}

function points(tasks) {
  return tasks.reduce((sum, t) => sum + (typeof t.story_points === "number" ? t.story_points : 0), 0);
}

function today() {
  return new Date().toISOString().slice(0, 10);
}

function flags(task) {
  const out = [];
  const blocked = (task.labels || []).find((l) => /^(blocked|flagged|impediment)$/i.test(l));
  if (blocked) out.push(["flag danger", blocked]);
  if (task.due_date && task.status.category !== "done" && task.due_date < today()) out.push(["flag danger", "overdue " + task.due_date]);
  else if (task.due_date) out.push(["flag", "due " + task.due_date]);
  if (task.priority) out.push(["flag" + (/^(highest|high|urgent|immediate|critical|blocker)$/i.test(task.priority) ? " warn" : ""), task.priority]);
  if (task.task_type) out.push(["flag", task.task_type]);
  for (const l of task.labels || []) if (l !== blocked) out.push(["flag", l]);
  return out;
}

function card(task) {
  const id = label(task);
  const busy = board.moving.has(task.id);
  const others = [...board.statuses.values()].filter((s) => !sameStatus(s, task.status));
  // Choosing only picks; the button moves (arrow keys change a closed select's value at once).
  const menu = el(
    "select",
    { "aria-label": "Status to move " + id + " to", disabled: busy || others.length === 0 },
    el("option", { value: "" }, "Move to…"),
    CATEGORIES.map(([cat, name]) => {
      const here = others.filter((s) => s.category === cat);
      return here.length ? el("optgroup", { label: name }, here.map((s) => el("option", { value: s.name }, s.name))) : null;
    })
  );
  const go = el(
    "button",
    {
      type: "button",
      disabled: busy || others.length === 0,
      onclick: () => {
        if (!menu.value) {
          say("Choose a status for " + id + " first.", "info");
          menu.focus();
          return;
        }
        board.focus = task.id;
        move(task, menu.value);
      },
    },
    "Move"
  );
  const movable = board.canCall && !busy;
  return el(
    "article",
    {
      class: "card" + (busy ? " busy" : ""),
      draggable: movable ? "true" : "false",
      "data-task": task.id,
      "aria-busy": busy ? "true" : null,
      "aria-label": id + ": " + task.title,
      ondragstart: (e) => {
        board.dragged = task;
        e.dataTransfer.setData("text/plain", task.id);
        e.dataTransfer.effectAllowed = "move";
        document.body.classList.add("dragging");
      },
      ondragend: () => {
        board.dragged = null;
        document.body.classList.remove("dragging");
      },
    },
    el("div", { class: "card-top" }, el("span", { class: "key" }, id), typeof task.story_points === "number" ? el("span", { class: "points", title: "story points" }, task.story_points + " pt") : null),
    el("div", { class: "title" }, task.title),
    el("div", { class: "who" }, task.assignee ? task.assignee.name : "Unassigned"),
    el("div", { class: "flags" }, flags(task).map(([cls, text]) => el("span", { class: cls }, text))),
    board.canCall ? el("div", { class: "card-menu" }, busy ? el("span", { class: "sub" }, "Moving…") : [menu, " ", go]) : null
  );
}

function lane(status, tasks) {
  const mine = tasks.filter((t) => sameStatus(t.status, status));
  const accepts = () => board.dragged && !sameStatus(board.dragged.status, status);
  return el(
    "div",
    {
      class: "lane",
      "data-status": status.name,
      ondragover: (e) => {
        if (accepts()) {
          e.preventDefault();
          e.currentTarget.classList.add("over");
        }
      },
      ondragleave: (e) => e.currentTarget.classList.remove("over"),
      ondrop: (e) => {
        e.preventDefault();
        e.currentTarget.classList.remove("over");
        const task = board.dragged || board.tasks.find((t) => t.id === e.dataTransfer.getData("text/plain"));
        document.body.classList.remove("dragging");
        board.dragged = null;
        if (task && board.canCall && !sameStatus(task.status, status)) move(task, status.name);
      },
    },
    el("h3", {}, status.name, el("span", { class: "count" }, " " + mine.length)),
    mine.map(card),
    mine.length ? null : el("div", { class: "empty" }, board.canCall ? "Drop here to move to " + status.name : "No task")
  );
}

function render() {
  const root = document.getElementById("board");
  root.replaceChildren();
  if (!board.sprint) return;
  const s = board.sprint;
  const dates = [s.start_date, s.end_date].filter(Boolean).map((d) => d.slice(0, 10)).join(" → ");
  const done = board.tasks.filter((t) => t.status.category === "done");
  const shown = board.next ? " of the tasks shown" : "";
  document.getElementById("title").textContent = s.name;
  document.getElementById("about").textContent = [
    s.state,
    dates,
    board.tasks.length + " task" + (board.tasks.length === 1 ? "" : "s") + (board.next ? " shown; the sprint has more" : ""),
    points(done) + " of " + points(board.tasks) + " pt done" + shown,
    board.args.status ? "only status " + board.args.status : "",
  ]
    .filter(Boolean)
    .join(" · ");
  document.getElementById("goal").textContent = s.goal ? "Goal: " + s.goal : "";
  const more = document.getElementById("more");
  more.replaceChildren(board.next && board.canCall ? el("button", { type: "button", onclick: loadMore }, "Show more tasks") : "");
  for (const [cat, name] of CATEGORIES) {
    const tasks = board.tasks.filter((t) => t.status.category === cat);
    const statuses = [...board.statuses.values()].filter((st) => st.category === cat);
    // A task whose status has no lane yet gets one (every task is drawn).
    for (const t of tasks) if (!statuses.some((st) => sameStatus(st, t.status))) statuses.push(t.status);
    root.append(
      el(
        "section",
        { class: "column", "data-category": cat, "aria-label": name },
        el("h2", {}, name, el("span", { class: "count" }, " " + tasks.length + " · " + points(tasks) + " pt")),
        statuses.length ? statuses.map((st) => lane(st, tasks)) : el("div", { class: "empty" }, "No status of this kind")
      )
    );
  }
  // Focus back where the keyboard was.
  if (board.focus && !board.moving.has(board.focus)) {
    const card = [...root.querySelectorAll("article.card")].find((c) => c.dataset.task === board.focus);
    const target = card && card.querySelector("select");
    if (target) target.focus();
    board.focus = null;
  }
}

// The next page of the sprint's tasks, with the call's own arguments.
async function loadMore() {
  if (!board.next) return;
  const args = Object.assign({}, board.args, { sprint_id: board.sprint.id, cursor: board.next });
  try {
    const r = await host.callTool("get_sprint_tasks", args);
    if (!r.ok || !r.data || !Array.isArray(r.data.tasks)) {
      say("More tasks could not be read: " + (r.text || "the answer held none"), "error");
      return;
    }
    for (const t of r.data.tasks) {
      learn(t.status);
      if (!board.tasks.some((x) => x.id === t.id)) board.tasks.push(t);
    }
    board.next = r.data.next_cursor || null;
    render();
  } catch (e) {
    say("More tasks could not be read: " + e.message, "error");
  }
}

async function move(task, status) {
  const id = label(task);
  if (board.moving.has(task.id)) return;
  board.moving.add(task.id);
  render();
  say("Moving " + id + " to " + status + "…", "info");
  try {
    const r = await host.callTool("update_task_status", { task_id: task.id, status });
    if (!r.ok) {
      say(id + " was not moved to " + status + ": " + (r.text || "the tracker refused"), "error");
      return;
    }
    const now = r.data && r.data.task;
    if (now && now.status) {
      learn(now.status);
      const i = board.tasks.findIndex((t) => t.id === task.id);
      if (i >= 0) board.tasks[i] = Object.assign({}, board.tasks[i], now);
      const same = now.status.name.toLowerCase() === status.toLowerCase();
      if (board.args.status && !board.args.status.split(",").some((x) => x.trim().toLowerCase() === now.status.name.toLowerCase())) {
        say(id + " is now " + now.status.name + ", outside the statuses this board was asked for.", same ? "ok" : "error");
        return;
      }
      say(id + " is now " + now.status.name + (same ? "." : " (the tracker's answer; " + status + " was asked for)."), same ? "ok" : "error");
    } else {
      say(id + ": the tracker's answer did not say its status; ask for the sprint again to see it.", "error");
    }
  } catch (e) {
    say(id + " was not moved to " + status + ": " + e.message, "error");
  } finally {
    board.moving.delete(task.id);
    render();
  }
}

// The statuses of the sprint's projects, so that every status is a lane even without a task in it.
async function vocabulary() {
  const projects = [...new Set(board.tasks.map((t) => t.project_id).filter(Boolean))].slice(0, 5);
  for (const project_id of projects) {
    try {
      const r = await host.callTool("get_project_vocabulary", { project_id });
      const v = r.ok && r.data && (r.data.vocabulary || r.data);
      for (const s of (v && v.statuses) || []) learn(s);
    } catch (e) {
      // The lanes of the statuses seen on the cards remain.
    }
  }
  document.getElementById("board").dataset.vocabulary = "done";
  render();
}

host.on["ui/notifications/tool-input"] = (p) => {
  board.args = Object.assign({}, p.arguments || {});
  delete board.args.cursor;
};
host.on["ui/notifications/tool-result"] = (result) => {
  if (result.isError) {
    say("The sprint could not be read: " + host.text(result), "error");
    return;
  }
  const data = result.structuredContent;
  if (!data || !data.sprint || !Array.isArray(data.tasks)) {
    say("This answer holds no sprint to show.", "error");
    return;
  }
  board.sprint = data.sprint;
  board.tasks = data.tasks;
  board.next = data.next_cursor || null;
  for (const t of data.tasks) learn(t.status);
  render();
  vocabulary();
};
host.on["ui/notifications/tool-cancelled"] = (p) => say("The sprint was not read: " + (p.reason || "cancelled"), "error");

host
  .start("pm-mcp sprint board")
  .then((canCall) => {
    board.canCall = canCall;
    if (!canCall) say("This host does not pass tool calls on: the board shows the sprint but cannot move tasks.", "info");
    render();
  })
  .catch((e) => say("The host did not start the board: " + e.message, "error"));
