// The desk's little script: filters, sorting and polling on the round page, uploads with a progress bar,
// the clerk's decisions, the page viewer, the sign-in form. Plain JavaScript, no build step.
"use strict";

(function () {
  const csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  async function postJSON(url, data) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf(), Accept: "application/json" },
      body: JSON.stringify(data),
      credentials: "same-origin",
    });
    let body = {};
    try {
      body = await response.json();
    } catch (e) {
      body = {};
    }
    if (!response.ok) {
      throw new Error(body.error || "操作失败（" + response.status + "）");
    }
    return body;
  }

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "text") node.textContent = value;
      else if (key === "className") node.className = value;
      else node.setAttribute(key, value);
    }
    for (const child of children || []) node.appendChild(child);
    return node;
  }

  // -- sign in / out ----------------------------------------------------------------------------------

  function setupLogin() {
    const form = document.getElementById("login");
    if (!form) return;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const error = document.getElementById("login-error");
      error.textContent = "";
      try {
        const data = await postJSON("/login", {
          user: form.elements.user.value,
          password: form.elements.password.value,
          next: form.elements.next.value,
        });
        window.location.assign(data.next || "/");
      } catch (e) {
        error.textContent = e.message;
      }
    });
  }

  function setupLogout() {
    const button = document.getElementById("logout");
    if (!button) return;
    button.addEventListener("click", async () => {
      try {
        const data = await postJSON("/logout", {});
        window.location.assign(data.next || "/login");
      } catch (e) {
        window.location.assign("/login");
      }
    });
  }

  // -- the round ----------------------------------------------------------------------------------------

  const sortKeys = {
    id: (tr) => tr.dataset.id,
    verdict: (tr) => tr.dataset.verdict,
    final: (tr) => tr.dataset.final,
    state: (tr) => tr.dataset.state,
    errors: (tr) => Number(tr.dataset.errors || 0),
    warnings: (tr) => Number(tr.dataset.warnings || 0),
    decisions: (tr) => Number(tr.dataset.decisions || 0),
    checked: (tr) => tr.dataset.checked || "",
  };
  let sortBy = null;
  let sortDown = false;

  function rowElement(row) {
    const tr = el("tr", {
      "data-id": row.id,
      "data-verdict": row.verdict,
      "data-final": row.final_verdict,
      "data-state": row.state,
      "data-review": String(row.final_review_count),
      "data-errors": String(row.final_errors),
      "data-warnings": String(row.final_warnings),
      "data-decisions": String(row.decisions),
      "data-checked": row.checked_at,
    });
    const name = el("td", { className: "name" });
    if (row.has_report) name.appendChild(el("a", { className: "dossier-link", href: row.url, text: row.id }));
    else name.appendChild(el("span", { className: "dossier-name", text: row.id }));
    if (row.source !== row.id) name.appendChild(el("small", { className: "source", text: row.source }));
    tr.appendChild(name);
    tr.appendChild(el("td", { className: "verdict", text: row.verdict_text }));
    const final = el("td", { className: "final " + row.tone, text: row.final_text });
    if (row.failure) final.appendChild(el("small", { className: "failure", text: row.failure }));
    tr.appendChild(final);
    tr.appendChild(el("td", { className: "state " + row.state, text: row.state_text }));
    tr.appendChild(el("td", { className: "num", text: String(row.final_errors) }));
    tr.appendChild(el("td", { className: "num", text: String(row.final_warnings) }));
    const decided = el("td", { className: "num", text: row.decisions ? String(row.decisions) : "—" });
    if (row.stale) decided.appendChild(el("small", { className: "stale-count", text: "（" + row.stale + " 项待重新确认）" }));
    tr.appendChild(decided);
    tr.appendChild(el("td", { className: "checked", text: row.checked_text }));
    return tr;
  }

  function applyView(table) {
    const verdict = document.getElementById("filter-verdict").value;
    const state = document.getElementById("filter-state").value;
    const search = document.getElementById("search").value.trim().toLowerCase();
    const body = table.tBodies[0];
    const rows = Array.from(body.rows);
    let shown = 0;
    for (const tr of rows) {
      let visible = true;
      if (verdict === "review") visible = tr.dataset.final === "complete" && Number(tr.dataset.review) > 0;
      else if (verdict) visible = tr.dataset.final === verdict;
      if (state && tr.dataset.state !== state) visible = false;
      if (search && !(tr.dataset.id.toLowerCase().includes(search) || tr.textContent.toLowerCase().includes(search)))
        visible = false;
      tr.hidden = !visible;
      if (visible) shown += 1;
    }
    if (sortBy && sortKeys[sortBy]) {
      const key = sortKeys[sortBy];
      rows.sort((a, b) => {
        const x = key(a);
        const y = key(b);
        const order = typeof x === "number" ? x - y : String(x).localeCompare(String(y), "zh-CN");
        return sortDown ? -order : order;
      });
      for (const tr of rows) body.appendChild(tr);
    }
    const empty = document.getElementById("round-empty");
    if (empty) empty.hidden = rows.length > 0;
    table.dataset.shown = String(shown);
  }

  function refreshRound(table, data) {
    table.dataset.stamp = data.stamp;
    const body = table.tBodies[0];
    const fresh = document.createDocumentFragment();
    for (const row of data.rows) fresh.appendChild(rowElement(row));
    body.replaceChildren(fresh);
    for (const [key, value] of Object.entries(data.counts)) {
      const cell = document.querySelector('#counts [data-count="' + key + '"]');
      if (cell) cell.textContent = String(value);
    }
    applyView(table);
  }

  function setupRound() {
    const table = document.getElementById("round");
    if (!table) return;
    for (const id of ["filter-verdict", "filter-state"]) {
      document.getElementById(id).addEventListener("change", () => applyView(table));
    }
    document.getElementById("search").addEventListener("input", () => applyView(table));
    for (const th of table.querySelectorAll("th[data-sort]")) {
      th.tabIndex = 0;
      const sort = () => {
        sortDown = sortBy === th.dataset.sort ? !sortDown : false;
        sortBy = th.dataset.sort;
        for (const other of table.querySelectorAll("th[data-sort]")) other.removeAttribute("aria-sort");
        th.setAttribute("aria-sort", sortDown ? "descending" : "ascending");
        applyView(table);
      };
      th.addEventListener("click", sort);
      th.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") sort();
      });
    }
    applyView(table);
    const poll = async () => {
      try {
        const response = await fetch("/api/round", { cache: "no-store", credentials: "same-origin" });
        if (response.status === 401) {
          window.location.assign("/login?next=/"); // the session ended: sign in again
          return;
        }
        if (response.ok) {
          const data = await response.json();
          if (data.stamp !== table.dataset.stamp) refreshRound(table, data);
        }
      } catch (e) {
        // the desk restarting: try again at the next tick
      }
      window.setTimeout(poll, 2000);
    };
    window.setTimeout(poll, 2000);
    setupUpload();
  }

  // -- uploads ------------------------------------------------------------------------------------------

  const JUNK = /^(\.|~\$|thumbs\.db$|desktop\.ini$)/i;

  function uploadOne(file, params, onProgress) {
    return new Promise((resolve, reject) => {
      const query = new URLSearchParams(params);
      const request = new XMLHttpRequest();
      request.open("POST", "/upload?" + query.toString());
      request.setRequestHeader("X-CSRF-Token", csrf());
      request.setRequestHeader("Content-Type", "application/octet-stream");
      request.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable) onProgress(event.loaded);
      });
      request.addEventListener("load", () => {
        let body = {};
        try {
          body = JSON.parse(request.responseText);
        } catch (e) {
          body = {};
        }
        if (request.status >= 200 && request.status < 300) resolve(body);
        else reject(new Error(body.error || "上传失败（" + request.status + "）"));
      });
      request.addEventListener("error", () => reject(new Error("上传失败：连接中断（文件可能超过上限）")));
      request.send(file);
    });
  }

  function randomBatch() {
    const bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  async function filesOfEntry(entry) {
    // A dropped folder: every file in it (sub-folders too), read through the File System API.
    if (entry.isFile) return [await new Promise((ok, fail) => entry.file(ok, fail))];
    const reader = entry.createReader();
    const found = [];
    for (;;) {
      const batch = await new Promise((ok, fail) => reader.readEntries(ok, fail));
      if (!batch.length) break;
      for (const child of batch) found.push(...(await filesOfEntry(child)));
    }
    return found;
  }

  async function sendFiles(zone, groups) {
    // groups: [{folder: name|null, files: [File]}]
    const progress = document.getElementById("upload-progress");
    const message = document.getElementById("upload-message");
    const maxBytes = Number(zone.dataset.maxBytes);
    const allowed = zone.dataset.allowed.split(",");
    const problems = [];
    const jobs = [];
    for (const group of groups) {
      const files = group.files.filter((f) => !JUNK.test(f.name));
      const bad = files.filter((f) => !allowed.some((s) => f.name.toLowerCase().endsWith(s)));
      const big = files.filter((f) => f.size > maxBytes);
      for (const f of bad) problems.push(f.name + "：不支持的文件类型");
      for (const f of big) problems.push(f.name + "：超过上传上限 " + zone.dataset.maxMb + " MB");
      if (group.folder && (bad.length || big.length)) continue; // a folder goes in whole or not at all
      const good = files.filter((f) => !bad.includes(f) && !big.includes(f));
      const batch = randomBatch();
      for (const file of good) {
        const params = { name: file.name };
        if (group.folder) Object.assign(params, { folder: group.folder, batch: batch, total: String(good.length) });
        jobs.push({ file: file, params: params });
      }
    }
    const total = jobs.reduce((sum, job) => sum + job.file.size, 0) || 1;
    let done = 0;
    const landed = [];
    progress.hidden = false;
    progress.value = 0;
    message.textContent = problems.join("；");
    for (const job of jobs) {
      try {
        const body = await uploadOne(job.file, job.params, (loaded) => {
          progress.value = Math.round(((done + loaded) * 100) / total);
        });
        if (body.complete) landed.push(body.name);
      } catch (e) {
        problems.push(job.file.name + "：" + e.message);
      }
      done += job.file.size;
      progress.value = Math.round((done * 100) / total);
    }
    const parts = [];
    if (landed.length) parts.push("已放入收件箱，等待检查：" + landed.join("、"));
    if (problems.length) parts.push("未上传：" + problems.join("；"));
    message.textContent = parts.join("。");
    message.className = problems.length ? "bad" : "ok";
  }

  function groupsOf(files, zone) {
    const together = document.getElementById("upload-together");
    const name = document.getElementById("upload-folder");
    if (together && together.checked && files.length > 0) {
      const folder = (name.value || "").trim() || "上传材料-" + new Date().toISOString().slice(0, 10);
      return [{ folder: folder, files: files }];
    }
    return files.map((f) => ({ folder: null, files: [f] }));
  }

  function setupUpload() {
    const zone = document.getElementById("dropzone");
    if (!zone) return;
    const input = document.getElementById("upload-input");
    input.addEventListener("change", () => {
      const files = Array.from(input.files);
      input.value = "";
      if (files.length) sendFiles(zone, groupsOf(files, zone));
    });
    zone.addEventListener("dragover", (event) => {
      event.preventDefault();
      zone.classList.add("over");
    });
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", async (event) => {
      event.preventDefault();
      zone.classList.remove("over");
      const items = Array.from(event.dataTransfer.items || []);
      const entries = items.map((i) => (i.webkitGetAsEntry ? i.webkitGetAsEntry() : null));
      const folders = [];
      const loose = [];
      if (entries.length && entries.every((e) => e)) {
        for (const entry of entries) {
          if (entry.isDirectory) folders.push({ folder: entry.name, files: await filesOfEntry(entry) });
          else loose.push(await filesOfEntry(entry).then((f) => f[0]));
        }
      } else {
        loose.push(...Array.from(event.dataTransfer.files));
      }
      sendFiles(zone, folders.concat(groupsOf(loose, zone)));
    });
  }

  // -- a dossier: decisions ---------------------------------------------------------------------------------

  function setupDecisions() {
    const path = window.location.pathname.replace(/\/+$/, "");
    for (const form of document.querySelectorAll("form.decision")) {
      const say = (text, ok) => {
        const where = form.querySelector(".form-message");
        where.textContent = text;
        where.className = "form-message " + (ok ? "ok" : "bad");
      };
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const button = form.querySelector('button[type="submit"]');
        button.disabled = true;
        try {
          await postJSON(path + "/decisions", {
            target: form.dataset.target,
            value: form.elements.value.value,
            note: form.elements.note.value,
          });
          say("已确认", true);
          window.location.reload();
        } catch (e) {
          say(e.message, false);
          button.disabled = false;
        }
      });
      const withdraw = form.querySelector("button.withdraw");
      if (withdraw) {
        withdraw.addEventListener("click", async () => {
          try {
            await postJSON(path + "/decisions/withdraw", { target: form.dataset.target });
            window.location.reload();
          } catch (e) {
            say(e.message, false);
          }
        });
      }
    }
  }

  // -- a dossier: the page viewer -----------------------------------------------------------------------------

  function setupViewer() {
    const viewer = document.getElementById("viewer");
    if (!viewer) return;
    const image = document.getElementById("viewer-page");
    const boxes = viewer.querySelector(".viewer-boxes");
    const title = document.getElementById("viewer-title");
    const message = document.getElementById("viewer-message");
    const base = viewer.dataset.base;
    let file = 0;
    let page = 1;
    let item = "";

    async function show() {
      title.textContent = "第 " + page + " 页";
      message.textContent = "";
      boxes.replaceChildren();
      image.src = base + "/page/" + file + "/" + page + ".png?w=1200";
      try {
        const response = await fetch(base + "/boxes/" + file + "/" + page, { credentials: "same-origin" });
        const data = await response.json();
        if (!response.ok) throw new Error(data.error || "无法读取页面标注");
        for (const box of data.boxes) {
          const mark = el("div", {
            className: "box " + box.kind + (box.item === item ? " current" : ""),
            title: box.label,
            "data-item": box.item,
          });
          mark.style.left = box.x0 * 100 + "%";
          mark.style.top = box.y0 * 100 + "%";
          mark.style.width = (box.x1 - box.x0) * 100 + "%";
          mark.style.height = (box.y1 - box.y0) * 100 + "%";
          mark.appendChild(el("span", { text: box.label }));
          boxes.appendChild(mark);
        }
        // A seal low on the page would sit below the window: bring the item's box (its seal first) into view.
        const focus =
          boxes.querySelector(".box.seal.current") || boxes.querySelector(".box.current") || boxes.querySelector(".box");
        if (focus) {
          image
            .decode()
            .catch(() => undefined)
            .then(() => focus.scrollIntoView({ block: "center", inline: "nearest" }));
        }
      } catch (e) {
        message.textContent = e.message;
      }
    }

    image.addEventListener("error", () => {
      message.textContent = "该页无法显示";
    });
    for (const thumb of document.querySelectorAll("img.thumb")) {
      thumb.addEventListener("error", () => {
        thumb.classList.add("broken");
        thumb.title = "该页无法显示（可下载原文件查看）";
      });
      thumb.addEventListener("click", () => {
        file = Number(thumb.dataset.file);
        page = Number(thumb.dataset.page);
        item = thumb.dataset.item || "";
        viewer.hidden = false;
        show();
      });
    }
    document.getElementById("viewer-close").addEventListener("click", () => {
      viewer.hidden = true;
    });
    document.getElementById("viewer-prev").addEventListener("click", () => {
      if (page > 1) {
        page -= 1;
        show();
      }
    });
    document.getElementById("viewer-next").addEventListener("click", () => {
      page += 1;
      show();
    });
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape") viewer.hidden = true;
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    setupLogin();
    setupLogout();
    setupRound();
    setupDecisions();
    setupViewer();
  });
})();
