'use strict';
// The gateway's web console: plain script, no build step. Every text a person reads comes from i18n/<lang>.json;
// every write carries the session's anti-forgery header; nothing is inserted as HTML.
(() => {
  const languages = ['uz', 'ru', 'en'];
  const state = { lang: 'en', text: {}, csrfHeader: null, csrf: null, accounts: [], account: null };
  const $ = (id) => document.getElementById(id);

  function pickLanguage() {
    const cookie = document.cookie.split('; ').find((c) => c.startsWith('gateway_lang='));
    const chosen = cookie ? cookie.slice('gateway_lang='.length) : null;
    if (languages.includes(chosen)) return chosen;
    for (const l of navigator.languages || []) {
      const short = l.slice(0, 2).toLowerCase();
      if (languages.includes(short)) return short;
    }
    return 'en';
  }

  function t(key, vars) {
    let s = Object.prototype.hasOwnProperty.call(state.text, key) ? state.text[key] : key;
    for (const [k, v] of Object.entries(vars || {})) s = s.split('{' + k + '}').join(String(v));
    return s;
  }

  function el(tag, attrs, ...children) {
    const node = tag.startsWith('svg:') ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4)) : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
    return node;
  }

  const number = (n) => new Intl.NumberFormat(state.lang).format(n ?? 0);
  // Times in the account's time zone (amoCRM's own setting, from the API) when known, else in the browser's.
  // The date's numbers come from Intl (which knows the zones), its words from the catalogue: browsers' locale data
  // for Uzbek has no month names ("2026 M12 1"), so no language depends on it.
  function when(unix, zone) {
    if (!unix) return t('none');
    const date = new Date(unix * 1000);
    const numeric = { year: 'numeric', month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' };
    let parts;
    try {
      parts = new Intl.DateTimeFormat('en-US', zone ? { ...numeric, timeZone: zone } : numeric).formatToParts(date);
    } catch (_) {
      parts = new Intl.DateTimeFormat('en-US', numeric).formatToParts(date);
    }
    const part = (type) => parts.find((p) => p.type === type).value;
    const months = t('date.months').split(',');
    return t('date.format', { day: String(Number(part('day'))), month: months[Number(part('month')) - 1], year: part('year'), time: part('hour') + ':' + part('minute') });
  }
  const zoneNote = (zone) => el('p', { class: 'zone' }, zone ? t('leads.time_zone', { zone }) : t('leads.time_zone_browser'));
  function age(seconds) {
    if (seconds === null || seconds === undefined) return t('none');
    if (seconds < 120) return t('age.seconds', { n: number(seconds) });
    if (seconds < 7200) return t('age.minutes', { n: number(Math.round(seconds / 60)) });
    if (seconds < 172800) return t('age.hours', { n: number(Math.round(seconds / 3600)) });
    return t('age.days', { n: number(Math.round(seconds / 86400)) });
  }

  async function loadLanguage(lang) {
    const answer = await fetch('/admin/assets/i18n/' + lang + '.json', { credentials: 'same-origin' });
    state.text = await answer.json();
    state.lang = lang;
    document.documentElement.lang = lang;
    $('language').value = lang;
    for (const node of document.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
    for (const node of document.querySelectorAll('[data-i18n-label]')) node.setAttribute('aria-label', t(node.dataset.i18nLabel));
  }

  // One envelope in, its data out; a failure becomes an Error with the gateway's own words.
  async function api(path, options) {
    const init = { credentials: 'same-origin', headers: { Accept: 'application/json' }, ...(options || {}) };
    if (init.method && init.method !== 'GET' && state.csrfHeader) init.headers[state.csrfHeader] = state.csrf;
    const answer = await fetch(path, init);
    if (answer.status === 401) {
      location.assign('/admin/login?next=' + encodeURIComponent('/admin/' + location.hash));
      throw new Error(t('error.signed_out'));
    }
    const body = await answer.json().catch(() => null);
    if (!answer.ok || !body || !body.success) throw new Error(body && body.error ? body.error : t('error.http', { status: answer.status }));
    return body;
  }

  function say(message, isError) {
    const status = $('status');
    status.textContent = message || '';
    status.className = isError ? 'error' : '';
  }

  const withAccount = (path, account) => account ? path + (path.includes('?') ? '&' : '?') + 'account=' + encodeURIComponent(account) : path;

  function route() {
    const hash = location.hash.startsWith('#/') ? location.hash.slice(2) : 'overview';
    const [path, query] = hash.split('?');
    const parts = path.split('/');
    return { page: parts[0] || 'overview', id: parts[1] || null, params: new URLSearchParams(query || '') };
  }

  async function render() {
    const r = route();
    const pages = { overview, accounts, leads, lead, settings, ...extra.pages };
    const page = pages[r.page] ? r.page : 'overview';
    for (const link of document.querySelectorAll('nav a')) {
      if (link.dataset.page === (page === 'lead' ? 'leads' : page)) link.setAttribute('aria-current', 'page'); else link.removeAttribute('aria-current');
    }
    // A fresh container each time: a render still waiting for its data when the next one starts fills a detached one.
    const view = el('div', { id: 'view' });
    $('view').replaceWith(view);
    say('');
    try {
      await pages[page](view, r);
      for (const more of extra.after[page] || []) await more(view, r);
    } catch (error) {
      say(error.message, true);
    }
  }

  function title(key, vars) {
    const text = t(key, vars);
    $('title').textContent = text;
    document.title = text + ' · ' + t('brand');
  }

  function facts(rows) {
    return el('dl', { class: 'facts' }, rows.filter(Boolean).flatMap(([k, v]) => [el('dt', null, t(k)), el('dd', null, v)]));
  }

  function badge(text, kind) { return el('span', { class: 'badge ' + kind }, text); }

  function sparkline(hours, domain) {
    const received = hours.received, failed = hours.failed;
    const max = Math.max(1, ...received);
    const total = received.reduce((a, b) => a + b, 0), bad = failed.reduce((a, b) => a + b, 0);
    const svg = el('svg:svg', { class: 'spark', viewBox: '0 0 240 40', preserveAspectRatio: 'none', role: 'img',
      'aria-label': t('overview.sparkline', { domain, total: number(total), failed: number(bad) }) });
    received.forEach((n, i) => {
      const h = Math.round((n / max) * 38), f = Math.round((failed[i] / max) * 38);
      if (h > 0) svg.append(el('svg:rect', { class: 'bar', x: i * 10 + 1, y: 40 - h, width: 8, height: h }));
      if (f > 0) svg.append(el('svg:rect', { class: 'fail', x: i * 10 + 1, y: 40 - f, width: 8, height: f }));
    });
    return svg;
  }

  // An admin's pause has no end worth showing; the outbox's own pauses carry amoCRM's reason (in English) and an end.
  function pauseText(q, zone) {
    if (q.pause_reason === 'paused_by_admin') return t('pause.paused_by_admin');
    return t('overview.paused_until', { reason: q.pause_reason || '', until: when(q.paused_until, zone) });
  }

  function localStarts() {
    const now = new Date();
    const today = new Date(now.getFullYear(), now.getMonth(), now.getDate());
    const week = new Date(today);
    week.setDate(today.getDate() - ((today.getDay() + 6) % 7));
    return { today: Math.floor(today / 1000), week: Math.floor(week / 1000) };
  }

  async function overview(view) {
    title('overview.title');
    const starts = localStarts();
    const data = (await api('/api/v1/admin/overview?today=' + starts.today + '&week=' + starts.week)).data;
    const cards = el('div', { class: 'cards' });
    for (const a of data.accounts) {
      const q = a.queue, tk = a.token;
      cards.append(el('section', { class: 'card', 'aria-labelledby': 'acc-' + a.domain },
        el('h2', { id: 'acc-' + a.domain }, a.domain),
        facts([
          ['overview.connected', a.connected ? badge(t('yes'), 'good') : badge(t('no'), 'bad')],
          ['overview.token', t('token.' + tk.state)],
          ['overview.last_refresh', when(tk.last_refresh_at, a.time_zone)],
          ['overview.next_keepalive', when(tk.next_keepalive_at, a.time_zone)],
          ['overview.today', t('overview.counts', { delivered: number(a.today.delivered), failed: number(a.today.failed) })],
          ['overview.week', t('overview.counts', { delivered: number(a.week.delivered), failed: number(a.week.failed) })],
          ['overview.queue', number(q.depth)],
          ['overview.oldest', age(q.oldest_queued_age_seconds)],
          q.paused_until ? ['overview.paused', pauseText(q, a.time_zone)] : null,
        ]),
        zoneNote(a.time_zone),
        el('h3', null, t('overview.last_24h')),
        sparkline(a.last_24h, a.domain)));
    }
    view.append(cards);
  }

  async function loadAccounts() {
    state.accounts = (await api('/api/v1/admin/accounts')).data.accounts;
    if (!state.account || !state.accounts.some((a) => a.domain === state.account)) {
      state.account = (state.accounts.find((a) => a.default) || state.accounts[0] || {}).domain || null;
    }
    return state.accounts;
  }

  async function accounts(view) {
    title('accounts.title');
    const list = await loadAccounts();
    const body = el('tbody');
    for (const a of list) {
      const paused = a.state === 'paused';
      const toggle = el('button', { type: 'button', class: 'secondary', onclick: async () => {
        try {
          await api('/api/v1/admin/accounts/' + encodeURIComponent(a.domain) + (paused ? '/resume' : '/pause'), { method: 'POST' });
          await render();
          say(t(paused ? 'accounts.resumed' : 'accounts.paused', { domain: a.domain }));
        } catch (error) { say(error.message, true); }
      } }, t(paused ? 'accounts.resume' : 'accounts.pause'));
      const connect = a.oauth
        ? el('a', { href: '/oauth/authorize?account=' + encodeURIComponent(a.domain) }, t(['missing', 'none'].includes(a.token_state) ? 'accounts.connect' : 'accounts.reconnect'))
        : null;
      body.append(el('tr', null,
        el('th', { scope: 'row' }, a.domain),
        el('td', null, t('state.' + a.state)),
        el('td', null, t('token.' + a.token_state)),
        // Whose token it is, as consent checked it with amoCRM: the account a person actually connected.
        // The domain only when amoCRM's differs from the configured one (an account renamed in amoCRM).
        el('td', null, !a.amo_account_id ? t('none')
          : a.base_domain && a.base_domain !== a.domain ? t('accounts.identity_value', { domain: a.base_domain, id: a.amo_account_id })
          : t('accounts.identity_id', { id: a.amo_account_id })),
        el('td', null, number(a.queue.depth)),
        el('td', null, el('div', { class: 'actions' }, connect, toggle))));
    }
    view.append(el('div', { class: 'scroll', tabindex: 0, role: 'region', 'aria-label': t('accounts.title') },
      el('table', null,
        el('thead', null, el('tr', null, ['accounts.domain', 'accounts.state', 'accounts.token', 'accounts.identity', 'accounts.queue', 'accounts.actions'].map((k) => el('th', { scope: 'col' }, t(k))))),
        body)));
  }

  function accountPicker(onchange) {
    if (state.accounts.length < 2) return null;
    return el('label', null, t('account'),
      el('select', { name: 'account', onchange: (e) => { state.account = e.target.value; onchange(); } },
        state.accounts.map((a) => el('option', { value: a.domain, selected: a.domain === state.account }, a.domain))));
  }

  const dayStart = (value) => value ? Math.floor(new Date(value + 'T00:00:00') / 1000) : null;

  // Ticked rows of a table, replayed in one call; the answer names what was and was not replayed.
  function replayBar(buttonKey, picked, replay) {
    const button = el('button', { type: 'button', class: 'secondary', onclick: async () => {
      const ids = picked().map(Number);
      if (ids.length === 0) { say(t('leads.nothing_selected'), true); return; }
      try {
        const message = await replay(ids);
        await render();
        say(message);
      } catch (error) { say(error.message, true); }
    } }, t(buttonKey));
    return el('div', { class: 'actions' }, button);
  }

  async function leads(view, r) {
    title('leads.title');
    await loadAccounts();
    const p = r.params;
    if (p.get('account')) state.account = p.get('account');
    const statusSelect = el('select', { name: 'status', id: 'f-status' }, el('option', { value: '' }, t('leads.any')),
      ['queued', 'delivering', 'delivered', 'failed'].map((s) => el('option', { value: s, selected: p.get('status') === s }, t('status.' + s))));
    const sourceSelect = el('select', { name: 'source', id: 'f-source' }, el('option', { value: '' }, t('leads.any')));
    const from = el('input', { type: 'date', name: 'from', id: 'f-from', value: p.get('from') || '' });
    const to = el('input', { type: 'date', name: 'to', id: 'f-to', value: p.get('to') || '' });
    const phone = el('input', { type: 'tel', name: 'phone', id: 'f-phone', autocomplete: 'off', value: p.get('phone') || '' });
    const email = el('input', { type: 'email', name: 'email', id: 'f-email', autocomplete: 'off', value: p.get('email') || '' });
    const name = el('input', { type: 'text', name: 'name', id: 'f-name', autocomplete: 'off', value: p.get('name') || '' });
    const form = el('form', { class: 'filters', role: 'search', 'aria-label': t('leads.search') },
      accountPicker(() => form.requestSubmit()),
      el('label', { for: 'f-phone' }, t('leads.phone'), phone),
      el('label', { for: 'f-email' }, t('leads.email'), email),
      el('label', { for: 'f-name' }, t('leads.name'), name),
      el('label', { for: 'f-status' }, t('leads.status'), statusSelect),
      el('label', { for: 'f-source' }, t('leads.source'), sourceSelect),
      el('label', { for: 'f-from' }, t('leads.from'), from),
      el('label', { for: 'f-to' }, t('leads.to'), to),
      el('button', { type: 'submit' }, t('leads.find')));
    const results = el('div');
    view.append(form, el('p', { class: 'hint' }, t('leads.search_hint')), results);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const q = new URLSearchParams();
      for (const [k, v] of [['account', state.account], ['phone', phone.value.trim()], ['email', email.value.trim()], ['name', name.value.trim()],
        ['status', statusSelect.value], ['source', sourceSelect.value], ['from', from.value], ['to', to.value]]) if (v) q.set(k, v);
      const next = '#/leads?' + q.toString();
      if (location.hash === next) render(); else location.hash = next;
    });

    const q = new URLSearchParams();
    for (const k of ['phone', 'email', 'name', 'status', 'source']) if (p.get(k)) q.set(k, p.get(k));
    if (p.get('from')) q.set('from', dayStart(p.get('from')));
    if (p.get('to')) q.set('to', dayStart(p.get('to')) + 86400);
    const base = withAccount('/api/v1/admin/leads?' + q.toString(), state.account);
    const body = el('tbody');
    const table = el('div', { class: 'scroll', tabindex: 0, role: 'region', 'aria-label': t('leads.results') },
      el('table', null,
        el('thead', null, el('tr', null, ['leads.pick', 'leads.id', 'leads.created', 'leads.status', 'leads.source', 'leads.attempts', 'leads.amo_lead'].map((k) => el('th', { scope: 'col' }, t(k))))),
        body));
    const more = el('button', { type: 'button', class: 'secondary' }, t('leads.more'));
    const bar = replayBar('leads.replay_selected', () => [...body.querySelectorAll('input[type=checkbox]:checked')].map((c) => c.value), async (ids) => {
      const data = (await api(withAccount('/api/v1/admin/leads/replay', state.account), { method: 'POST', headers: { Accept: 'application/json', 'Content-Type': 'application/json' }, body: JSON.stringify({ ids }) })).data;
      return t('leads.replayed_many', { n: number(data.replayed.length), total: number(ids.length) });
    });
    let first = true;
    async function page(before) {
      const data = (await api(before ? base + '&before=' + before : base)).data;
      if (first) {
        for (const s of data.sources) sourceSelect.append(el('option', { value: s, selected: p.get('source') === s }, s));
        results.before(zoneNote(data.time_zone));
        first = false;
      }
      for (const l of data.leads) {
        const pick = l.status === 'failed'
          ? el('input', { type: 'checkbox', name: 'pick', value: l.id, 'aria-label': t('leads.select', { id: l.id }) })
          : null;
        body.append(el('tr', null,
          el('td', null, pick),
          el('th', { scope: 'row' }, el('a', { href: '#/lead/' + l.id + '?account=' + encodeURIComponent(data.domain) }, '#' + l.id)),
          el('td', null, when(l.created_at, data.time_zone)),
          el('td', null, t('status.' + l.status)),
          el('td', null, l.source || t('none')),
          el('td', null, number(l.attempts)),
          el('td', null, l.lead_id ? String(l.lead_id) : t('none'))));
      }
      if (body.children.length === 0) { results.replaceChildren(el('p', null, t('leads.empty'))); return; }
      if (!results.contains(table)) results.replaceChildren(table);
      if (body.querySelector('input[type=checkbox]') && !results.contains(bar)) results.append(bar);
      if (data.next_before) {
        more.onclick = () => page(data.next_before).catch((e) => say(e.message, true));
        results.append(el('div', { class: 'actions' }, more));
      } else more.remove();
    }
    await page(null);
    await rejectedSubmissions(view);
  }

  // Form submissions that could not become a lead: ticked ones go through the mapping again (after a profile is fixed).
  async function rejectedSubmissions(view) {
    const data = (await api(withAccount('/api/v1/admin/submissions?status=rejected&limit=100', state.account))).data;
    const section = el('section', { 'aria-labelledby': 'rejected-title' }, el('h2', { id: 'rejected-title' }, t('leads.rejected_title')));
    view.append(section);
    if (data.submissions.length === 0) { section.append(el('p', null, t('leads.rejected_empty'))); return; }
    const body = el('tbody');
    for (const s of data.submissions) {
      body.append(el('tr', null,
        el('td', null, el('input', { type: 'checkbox', name: 'pick-submission', value: s.id, 'aria-label': t('leads.sub_select', { id: s.id }) })),
        el('th', { scope: 'row' }, '#' + s.id),
        el('td', null, when(typeof s.received_at === 'number' ? s.received_at : Math.floor(Date.parse(s.received_at) / 1000))),
        el('td', null, s.source),
        el('td', null, s.form || t('none')),
        el('td', { class: 'wrap' }, s.problem || t('none'))));
    }
    section.append(
      el('div', { class: 'scroll', tabindex: 0, role: 'region', 'aria-label': t('leads.rejected_title') },
        el('table', null,
          el('thead', null, el('tr', null, ['leads.pick', 'leads.sub_id', 'leads.sub_received', 'leads.sub_tool', 'leads.sub_form', 'leads.sub_problem'].map((k) => el('th', { scope: 'col' }, t(k))))),
          body)),
      replayBar('leads.sub_replay_selected', () => [...body.querySelectorAll('input[type=checkbox]:checked')].map((c) => c.value), async (ids) => {
        const answer = (await api(withAccount('/api/v1/admin/submissions/replay', state.account), { method: 'POST', headers: { Accept: 'application/json', 'Content-Type': 'application/json' }, body: JSON.stringify({ ids }) })).data;
        return t('leads.sub_replayed', { n: number(answer.submissions.filter((x) => x.status === 'accepted').length), total: number(ids.length) });
      }));
  }

  function callsTable(calls, zone) {
    if (!calls || calls.length === 0) return el('p', null, t('leads.calls_empty'));
    const steps = { lead: t('leads.step_lead'), note: t('leads.step_note'), contact: t('leads.step_contact'), task: t('leads.step_task') };
    const body = el('tbody');
    for (const c of calls) {
      const kind = c.http_status >= 200 && c.http_status < 300 ? 'good' : 'bad';
      body.append(el('tr', null,
        el('td', null, when(c.at, zone)),
        el('td', null, steps[c.step] || c.step),
        el('td', null, el('code', null, c.method + ' ' + c.path)),
        el('td', null, badge(c.http_status ? String(c.http_status) : c.outcome, kind)),
        el('td', null, t('leads.ms', { n: number(c.duration_ms) })),
        el('td', { class: 'wrap' }, c.error || t('none'))));
    }
    return el('div', { class: 'scroll', tabindex: 0, role: 'region', 'aria-label': t('leads.calls') },
      el('table', null,
        el('thead', null, el('tr', null, ['leads.call_at', 'leads.call_step', 'leads.call_request', 'leads.call_status', 'leads.call_duration', 'leads.call_error'].map((k) => el('th', { scope: 'col' }, t(k))))),
        body));
  }

  // Lead mode's recorded steps (contact found or not, lead created or linked, noted on an open lead), oldest first.
  function stepsTable(steps, zone) {
    const body = el('tbody');
    for (const step of steps) {
      const details = Object.entries(step).filter(([k, v]) => k !== 'step' && k !== 'at' && v !== null).map(([k, v]) => k + ': ' + (typeof v === 'object' ? JSON.stringify(v) : v)).join(', ');
      body.append(el('tr', null,
        el('td', null, step.at ? when(typeof step.at === 'number' ? step.at : Math.floor(Date.parse(step.at) / 1000), zone) : t('none')),
        el('th', { scope: 'row' }, step.step),
        el('td', { class: 'wrap' }, el('code', null, details))));
    }
    return el('div', { class: 'scroll', tabindex: 0, role: 'region', 'aria-label': t('lead.steps') },
      el('table', null,
        el('thead', null, el('tr', null, ['leads.call_at', 'leads.call_step', 'lead.step_details'].map((k) => el('th', { scope: 'col' }, t(k))))),
        body));
  }

  async function lead(view, r) {
    const account = r.params.get('account');
    title('lead.title', { id: r.id });
    const data = (await api(withAccount('/api/v1/admin/leads/' + encodeURIComponent(r.id), account))).data;
    const zone = data.time_zone;
    const statusKind = data.status === 'delivered' ? 'good' : data.status === 'failed' ? 'bad' : 'warn';
    view.append(el('section', { class: 'card' },
      facts([
        ['lead.status', badge(t('status.' + data.status), statusKind)],
        ['lead.account', data.domain],
        ['lead.source', data.source || t('none')],
        ['lead.created', when(data.created_at, zone)],
        ['lead.delivered', when(data.delivered_at, zone)],
        ['lead.attempts', number(data.attempts)],
        data.next_attempt_at ? ['lead.next_attempt', when(data.next_attempt_at, zone)] : null,
        ['lead.source_uid', data.source_uid],
        ['lead.uid', data.uid || t('none')],
        ['lead.amo_lead', data.links.lead ? el('a', { href: data.links.lead, rel: 'noopener noreferrer' }, String(data.lead_id)) : t('none')],
        ['lead.amo_contact', data.links.contact ? el('a', { href: data.links.contact, rel: 'noopener noreferrer' }, String(data.contact_id)) : t('none')],
        ['lead.note', data.note_status ? t('status.' + data.note_status) + (data.note_id ? ' #' + data.note_id : '') : t('none')],
        data.responsible ? ['lead.responsible', data.responsible.user_id ? '#' + data.responsible.user_id + (data.responsible.reason ? ' (' + data.responsible.reason + ')' : '') : t('none')] : null,
        data.task ? ['lead.task', t('status.' + data.task.status) + (data.task.task_id ? ' #' + data.task.task_id : '') + (data.task.complete_till ? ', ' + t('lead.task_due', { when: when(data.task.complete_till, zone) }) : '')] : null,
        data.trace_id ? ['lead.trace_id', data.trace_id] : null,
      ]),
      zoneNote(zone),
      data.status === 'failed' ? el('div', { class: 'actions' }, el('button', { type: 'button', id: 'replay', onclick: async () => {
        try {
          await api(withAccount('/api/v1/leads/' + encodeURIComponent(r.id) + '/retry', data.domain), { method: 'POST' });
          await render();
          say(t('lead.replayed', { id: r.id }));
        } catch (error) { say(error.message, true); }
      } }, t('lead.replay'))) : null));
    view.append(el('h2', null, t('leads.calls')), callsTable(data.calls, zone));
    if (data.delivery && data.delivery.steps.length > 0) view.append(el('h2', null, t('lead.steps')), stepsTable(data.delivery.steps, zone));
    if (data.task && data.task.error) view.append(el('h2', null, t('lead.task_error')), el('pre', null, data.task.error));
    if (data.last_error) view.append(el('h2', null, t('lead.error')), el('pre', null, JSON.stringify(data.last_error, null, 2)));
    if (data.note_error) view.append(el('h2', null, t('lead.note_error')), el('pre', null, data.note_error));
    if (data.amo_answer) view.append(el('h2', null, t('lead.answer')), el('pre', null, JSON.stringify(data.amo_answer, null, 2)));
    if (data.amo_body) view.append(el('h2', null, t('leads.sent_body')), el('p', null, t('lead.payload_masked')), el('pre', null, JSON.stringify(data.amo_body, null, 2)));
    view.append(el('h2', null, t('lead.payload')), el('p', null, t('lead.payload_masked')),
      el('pre', null, data.payload ? JSON.stringify(data.payload, null, 2) : t('lead.payload_unreadable')));
    if (data.submission) {
      const s = data.submission;
      view.append(el('h2', null, t('leads.submission')), facts([
        ['leads.sub_tool', s.tool],
        ['leads.sub_form', s.form || t('none')],
        ['leads.sub_received', when(s.received_at, zone)],
      ]));
      if (s.fields) {
        view.append(el('div', { class: 'scroll', tabindex: 0, role: 'region', 'aria-label': t('leads.submission') },
          el('table', null,
            el('thead', null, el('tr', null, el('th', { scope: 'col' }, t('leads.field')), el('th', { scope: 'col' }, t('leads.value')))),
            el('tbody', null, s.fields.map((f) => el('tr', null, el('th', { scope: 'row' }, f.label), el('td', null, f.value)))))));
      }
    }
    view.append(el('p', null, el('a', { href: '#/leads?account=' + encodeURIComponent(data.domain) }, t('lead.back'))));
  }

  async function settings(view) {
    title('settings.title');
    await loadAccounts();
    const about = (await api('/api/v1/admin/about')).data;
    const c = (await api(withAccount('/api/v1/diagnostics/config', state.account))).data;
    const yesNo = (b) => b ? t('yes') : t('no');
    const picker = accountPicker(() => render());
    if (picker) view.append(el('form', { class: 'filters' }, picker));
    view.append(
      el('section', { class: 'card' }, el('h2', null, t('settings.gateway')), facts([
        ['settings.version', about.version],
        ['settings.database', about.database],
        ['settings.data_dir', c.data_dir],
        ['settings.admin_password', yesNo(about.admin_password_set)],
        ['settings.session_idle', t('age.minutes', { n: number(about.session_idle_minutes) })],
        ['settings.signed_in_as', about.signed_in_as || t('none')],
        ['settings.cors', c.cors_allowed_origins.length ? c.cors_allowed_origins.join(', ') : t('none')],
      ])),
      el('section', { class: 'card' }, el('h2', null, t('settings.account', { domain: c.domain })), facts([
        ['settings.client_id', c.client_id],
        ['settings.client_secret', yesNo(c.client_secret_configured)],
        ['settings.long_lived', yesNo(c.long_lived_token_configured)],
        ['settings.redirect_uri', c.redirect_uri],
        ['settings.base_url', c.base_url || t('none')],
        ['settings.auth_url', c.auth_url],
        ['settings.rate_limit', number(c.rate_limit_per_second)],
        ['settings.refresh_margin', age(c.refresh_margin_seconds)],
        ['settings.keepalive', age(c.keepalive_age_seconds)],
        ['settings.cache_ttl', age(c.cache_ttl_seconds)],
      ])));
  }

  async function start() {
    await loadLanguage(pickLanguage());
    $('language').addEventListener('change', async (e) => {
      const lang = e.target.value;
      document.cookie = 'gateway_lang=' + lang + '; path=/; max-age=31536000; SameSite=Strict' + (location.protocol === 'https:' ? '; Secure' : '');
      await loadLanguage(lang);
      await render();
    });
    try {
      const session = (await api('/api/v1/admin/session')).data;
      state.csrfHeader = session.csrf_header;
      state.csrf = session.csrf_token;
    } catch (error) { say(error.message, true); return; }
    window.addEventListener('hashchange', () => { if (location.hash.startsWith('#/') || location.hash === '') render(); });
    await render();
  }

  // Pages in files of their own (keys.js, sources.js, …, loaded after this one) register here: a whole page by name,
  // or a part shown after a page of this file; they build with the same helpers.
  const extra = { pages: {}, after: {} };
  window.GatewayConsole = {
    page: (name, build) => { extra.pages[name] = build; },
    after: (name, build) => { (extra.after[name] = extra.after[name] || []).push(build); },
    t, el, api, say, render, title, facts, badge, number, when, withAccount, loadAccounts, accountPicker, state,
  };

  document.addEventListener('DOMContentLoaded', start);
})();
