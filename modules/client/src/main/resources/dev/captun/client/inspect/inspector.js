// captun request inspector: plain JavaScript, no framework, nothing fetched from elsewhere.
// The server pushes a version number on /api/events whenever anything changed; the page then
// re-reads the list (and the open request while it is still running).
'use strict';

const $ = (id) => document.getElementById(id);
const HEX_SHOWN = 64 * 1024; // bytes shown as hex; the rest is summarised

let entries = [];
let selected = null;      // id of the open request
let detail = null;        // its last JSON
let refreshing = false;
let again = false;

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v; else if (k === 'data') Object.assign(e.dataset, v); else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

function size(n) {
  if (n < 1024) return n + ' B';
  if (n < 1024 * 1024) return (n / 1024).toFixed(1) + ' KiB';
  return (n / 1024 / 1024).toFixed(1) + ' MiB';
}

function time(ms) {
  const d = new Date(ms);
  return d.toLocaleTimeString([], { hour12: false }) + '.' + String(d.getMilliseconds()).padStart(3, '0');
}

function statusText(e) {
  if (e.state === 'pending') return '…';
  if (e.state === 'aborted') return 'aborted';
  if (e.state === 'failed' && !e.status) return 'failed';
  return e.status ? String(e.status) : '';
}

function statusClass(e) {
  if (e.state === 'failed' || e.state === 'aborted') return e.state;
  return e.status ? 's' + String(e.status)[0] : '';
}

function matches(e) {
  const p = $('filter-path').value.trim().toLowerCase();
  const m = $('filter-method').value;
  const s = $('filter-status').value.trim().toLowerCase();
  if (p && !e.path.toLowerCase().includes(p)) return false;
  if (m && e.method !== m) return false;
  if (s) {
    const st = String(e.status || '');
    const pattern = s.replace(/x/g, '');
    if (s.includes('x') ? !st.startsWith(pattern) : st !== s) return false;
  }
  return true;
}

function renderList() {
  const body = $('entries');
  const shown = entries.filter(matches);
  body.replaceChildren(...shown.map((e) => {
    const path = el('td', { class: 'path', title: e.path },
      e.replayOf ? el('span', { class: 'badge replay', title: 'replay of #' + e.replayOf }, 'replay') : null,
      e.webSocket ? el('span', { class: 'badge ws' }, 'ws') : null,
      e.path);
    const tr = el('tr', { class: 'entry' + (e.id === selected ? ' selected' : ''), data: { id: e.id, state: e.state } },
      el('td', {}, time(e.time)),
      el('td', { class: 'method' }, e.method),
      path,
      el('td', { class: 'status ' + statusClass(e) }, statusText(e)),
      el('td', {}, e.durationMs.toFixed(1) + ' ms'),
      el('td', {}, e.webSocket ? (e.messageCount || 0) + ' msgs' : size(e.size)));
    tr.addEventListener('click', () => select(e.id));
    return tr;
  }));
  $('empty').hidden = entries.length > 0;
  $('count').textContent = shown.length === entries.length ? entries.length + ' requests'
    : shown.length + ' of ' + entries.length + ' requests';
}

async function refresh() {
  if (refreshing) { again = true; return; }
  refreshing = true;
  try {
    do {
      again = false;
      const r = await fetch('/api/requests', { cache: 'no-store' });
      if (r.ok) {
        entries = (await r.json()).requests;
        renderList();
        const open = entries.find((e) => e.id === selected);
        if (selected !== null && (!detail || !open || open.state !== detail.state
            || open.state === 'pending' || open.state === 'open' || open.messageCount !== detail.messageCount)) {
          await loadDetail(selected);
        }
      }
    } while (again);
  } catch (err) {
    // the CLI stopped or restarted: the event stream reconnects and refreshes again
  } finally {
    refreshing = false;
  }
}

async function select(id) {
  selected = id;
  detail = null;
  $('editor').hidden = true;
  $('replay-status').textContent = '';
  renderList();
  await loadDetail(id);
}

async function loadDetail(id) {
  const r = await fetch('/api/requests/' + id, { cache: 'no-store' });
  if (id !== selected) return;
  if (!r.ok) {
    detail = null;
    $('detail').hidden = true;
    $('placeholder').hidden = false;
    $('placeholder').textContent = 'This request is no longer kept (cleared, or pushed out of the ring).';
    return;
  }
  detail = await r.json();
  renderDetail(detail);
}

function headersTable(table, headers) {
  table.replaceChildren(...headers.map(([n, v]) => el('tr', {}, el('td', {}, n), el('td', {}, v))));
  if (headers.length === 0) table.replaceChildren(el('tr', {}, el('td', { class: 'muted' }, '(none)')));
}

function decodeBase64(b64) {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function hexDump(bytes) {
  const lines = [];
  const n = Math.min(bytes.length, HEX_SHOWN);
  for (let off = 0; off < n; off += 16) {
    const row = bytes.subarray(off, Math.min(off + 16, n));
    const hex = Array.from(row, (b) => b.toString(16).padStart(2, '0')).join(' ');
    const ascii = Array.from(row, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(off.toString(16).padStart(8, '0') + '  ' + hex.padEnd(48) + '  ' + ascii);
  }
  if (bytes.length > n) lines.push('… ' + (bytes.length - n) + ' more captured bytes not shown');
  return lines.join('\n');
}

function prettyText(text, contentType) {
  const t = text.trim();
  const looksJson = (contentType || '').toLowerCase().includes('json') || t.startsWith('{') || t.startsWith('[');
  if (looksJson) {
    try { return JSON.stringify(JSON.parse(t), null, 2); } catch (e) { /* not JSON after all: show as is */ }
  }
  return text;
}

function renderBody(box, body, note, cap) {
  const parts = [];
  if (note) parts.push(el('p', { class: 'note' }, 'Not recorded: ' + note));
  if (!body) {
    if (!note) parts.push(el('p', { class: 'muted' }, '(no body)'));
    box.replaceChildren(...parts);
    return;
  }
  if (body.size === 0 && body.complete) {
    parts.push(el('p', { class: 'muted' }, '(empty body)'));
    box.replaceChildren(...parts);
    return;
  }
  const kind = body.text !== undefined ? 'text' : 'binary';
  let info = size(body.size) + (body.contentType ? ' · ' + body.contentType : '') + ' · ' + kind;
  if (!body.complete) info += ' · still streaming';
  parts.push(el('p', { class: 'muted' }, info));
  if (body.truncated) {
    parts.push(el('p', { class: 'note' }, 'Truncated: showing the first ' + size(body.captured) + ' of ' + size(body.size)
      + ' (capture cap ' + size(cap) + ').'));
  }
  const shown = kind === 'text' ? prettyText(body.text, body.contentType) : hexDump(decodeBase64(body.base64));
  parts.push(el('pre', {}, shown));
  box.replaceChildren(...parts);
}

function renderDetail(d) {
  $('placeholder').hidden = true;
  $('detail').hidden = false;
  $('request-line').textContent = d.method + ' ' + d.path + (d.replayOf ? '   (replay of #' + d.replayOf + ')' : '');
  let timing = 'received ' + new Date(d.time).toLocaleString() + ' · ' + d.durationMs.toFixed(1) + ' ms';
  if (d.state === 'pending') timing += ' so far (running)';
  if (d.state === 'open') timing += ' so far (open)';
  if (d.state === 'aborted') timing += ' · the public client went away';
  $('timing').textContent = '#' + d.id + ' · ' + timing;
  $('error').hidden = !d.error;
  $('error').textContent = d.error || '';
  headersTable($('req-headers'), d.request.headers);
  renderBody($('req-body'), d.request.body, d.request.bodyNote, d.cap);
  const resp = d.response;
  $('response-part').hidden = !resp || d.webSocket;
  if (resp && !d.webSocket) {
    $('status-line').textContent = String(resp.status);
    $('status-line').className = 's' + String(resp.status)[0];
    headersTable($('resp-headers'), resp.headers);
    renderBody($('resp-body'), resp.body, null, d.cap);
  }
  $('replay').disabled = d.webSocket;
  $('edit-replay').disabled = d.webSocket;
  $('ws-part').hidden = !d.webSocket;
  if (d.webSocket) renderMessages(d);
}

function renderMessages(d) {
  const ms = d.messages || [];
  let summary = ms.length + ' shown';
  if (d.droppedMessages) summary += ', ' + d.droppedMessages + ' older not kept';
  if (d.close) summary += ' · closed ' + d.close.code + (d.close.reason ? ' ' + d.close.reason : '');
  $('ws-summary').textContent = '(' + summary + ')';
  $('messages').replaceChildren(...ms.map((m) => {
    const content = m.type === 'text' ? m.text : hexDump(decodeBase64(m.base64));
    return el('tr', { class: 'message ' + m.direction },
      el('td', { class: 'dir' }, m.direction === 'in' ? '→ in' : '← out'),
      el('td', { class: 'muted' }, time(m.time)),
      el('td', { class: 'content' }, content + (m.truncated ? ' … (' + size(m.size) + ' in all)' : '')),
      el('td', { class: 'muted' }, m.type + ' · ' + size(m.size)));
  }));
}

async function replay(edit) {
  const id = selected;
  $('replay-status').textContent = 'replaying…';
  const r = await fetch('/api/requests/' + id + '/replay', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(edit || {}),
  });
  const answer = await r.json().catch(() => ({}));
  if (!r.ok) {
    $('replay-status').textContent = 'replay refused: ' + (answer.error || r.status);
    return;
  }
  $('editor').hidden = true;
  await refresh();
  await select(answer.id);
  $('replay-status').textContent = 'replay #' + answer.id + ' of #' + id;
}

function openEditor() {
  const d = detail;
  if (!d) return;
  $('edit-method').value = d.method;
  $('edit-path').value = d.path;
  $('edit-headers').value = d.request.headers.map(([n, v]) => n + ': ' + v).join('\n');
  const b = d.request.body;
  $('edit-body').value = b && b.text !== undefined ? b.text : '';
  $('edit-body').disabled = !!(b && b.text === undefined);
  $('edit-body').placeholder = b && b.text === undefined ? 'binary body: replayed as captured unless replaced' : '';
  $('editor').hidden = false;
}

function editedRequest() {
  const headers = [];
  for (const line of $('edit-headers').value.split('\n')) {
    if (!line.trim()) continue;
    const i = line.indexOf(':');
    if (i <= 0) throw new Error('not a "Name: value" header line: ' + line);
    headers.push([line.slice(0, i).trim(), line.slice(i + 1).trim()]);
  }
  const edit = { method: $('edit-method').value.trim(), path: $('edit-path').value.trim(), headers };
  if (!$('edit-body').disabled) edit.body = $('edit-body').value;
  return edit;
}

function connectEvents() {
  const es = new EventSource('/api/events');
  es.onopen = () => $('live').classList.add('on');
  es.onmessage = () => refresh();
  es.onerror = () => $('live').classList.remove('on'); // EventSource reconnects by itself
}

document.addEventListener('DOMContentLoaded', () => {
  for (const id of ['filter-path', 'filter-method', 'filter-status']) $(id).addEventListener('input', renderList);
  $('filters').addEventListener('submit', (ev) => ev.preventDefault());
  $('clear').addEventListener('click', async () => {
    await fetch('/api/requests', { method: 'DELETE' });
    selected = null;
    detail = null;
    $('detail').hidden = true;
    $('placeholder').hidden = false;
    $('placeholder').textContent = 'Select a request to see its headers and bodies.';
    await refresh();
  });
  $('replay').addEventListener('click', () => replay(null));
  $('edit-replay').addEventListener('click', openEditor);
  $('edit-cancel').addEventListener('click', () => { $('editor').hidden = true; });
  $('editor').addEventListener('submit', (ev) => {
    ev.preventDefault();
    let edit;
    try { edit = editedRequest(); } catch (e) { $('replay-status').textContent = e.message; return; }
    replay(edit);
  });
  connectEvents();
  refresh();
});
