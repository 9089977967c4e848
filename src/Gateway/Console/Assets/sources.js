'use strict';
// The Sources page: the URL to paste into each form tool (per key; the key itself only right after it was created),
// the form profiles edited against the account's live field list, a preview of what a body or a stored submission
// would become, and the rejected submissions with a replay button.
(() => {
  const c = window.GatewayConsole;
  const { t, el, api, say } = c;
  // A profile's targets (SourceProfile.cs), each named in the catalogue as sources.target.<target>.
  const kinds = 'contact.name contact.phone contact.email lead.price lead.field contact.field tag utm note ignore'.split(' ');
  const [NAME, PHONE, , , LEAD_FIELD, CONTACT_FIELD] = kinds;
  const list = (text) => text.split(/[,;]+/).map((s) => s.trim()).filter(Boolean);
  let uid = 0;

  async function copy(text) {
    try {
      await navigator.clipboard.writeText(text);
      say(t('keys.copied'));
    } catch {
      say(t('keys.copy_failed'), true);
    }
  }

  const fieldsOf = (data) => (data && data._embedded && data._embedded.custom_fields) || (data && data.custom_fields) || (Array.isArray(data) ? data : []);

  async function liveFields(account) {
    const read = async (what) => {
      try { return fieldsOf((await api(c.withAccount('/api/v1/info/' + what, account))).data); } catch { return null; }
    };
    return { lead: await read('lead-fields'), contact: await read('contact-fields') };
  }

  function hooks(data) {
    const fresh = c.state.freshKey;
    const origin = location.origin;
    const sections = data.keys.map((k) => {
      const value = fresh && fresh.name === k.name ? fresh.key : t('sources.key_placeholder');
      return el('section', { class: 'card' },
        el('h3', null, t('sources.key_named', { name: k.name })),
        fresh && fresh.name === k.name ? el('p', null, t('sources.key_shown_now')) : el('p', null, t('sources.key_not_shown')),
        el('ul', { class: 'plain' }, data.tools.map((tool) => {
          const url = origin + '/hooks/' + tool + '/' + value;
          return el('li', null, el('span', null, t('sources.tool.' + tool) + ':'), el('code', { class: 'url' }, url),
            el('button', { type: 'button', class: 'secondary', 'aria-label': t('sources.copy_url', { tool: t('sources.tool.' + tool), name: k.name }), onclick: () => copy(url) }, t('keys.copy')));
        })));
    });
    return el('div', null, el('h2', null, t('sources.hooks')), el('p', null, t(sections.length ? 'sources.hooks_hint' : 'sources.no_keys')), sections);
  }

  // One row of the mapping: the form's field, where it goes, and (for amoCRM fields) which one, picked by name.
  function mappingRow(fields, name, target, readOnly) {
    const n = ++uid;
    const colon = target ? target.indexOf(':') : -1;
    const kind = colon < 0 ? (target || NAME) : target.slice(0, colon);
    const rest = colon < 0 ? '' : target.slice(colon + 1);
    const nameInput = el('input', { id: 'm-name-' + n, value: name || '', autocomplete: 'off', disabled: readOnly });
    const kindSelect = el('select', { id: 'm-kind-' + n, disabled: readOnly }, kinds.map((k) => el('option', { value: k, selected: k === kind }, t('sources.target.' + k))));
    const detail = el('span', { class: 'detail' });
    const row = el('li', { class: 'mapping' },
      el('label', { for: 'm-name-' + n }, t('sources.form_field'), nameInput),
      el('label', { for: 'm-kind-' + n }, t('sources.goes_to'), kindSelect),
      detail);
    let detailInput = null;
    function drawDetail(value) {
      detail.replaceChildren();
      detailInput = null;
      const k = kindSelect.value;
      if (k === LEAD_FIELD || k === CONTACT_FIELD) {
        const known = k === LEAD_FIELD ? fields.lead : fields.contact;
        const id = 'm-field-' + n;
        if (known && known.length) {
          detailInput = el('select', { id, disabled: readOnly }, known.map((f) => el('option', { value: f.name, selected: f.name === value }, f.name + (f.enums && f.enums.length ? ' (' + f.enums.map((e) => e.value).join(', ') + ')' : ''))));
          if (value && !known.some((f) => f.name === value)) detailInput.prepend(el('option', { value, selected: true }, value));
        } else {
          detailInput = el('input', { id, value: value || '', autocomplete: 'off', disabled: readOnly });
        }
        detail.append(el('label', { for: id }, t('sources.amo_field'), detailInput));
      } else if (k === 'utm') {
        const id = 'm-utm-' + n;
        detailInput = el('input', { id, value: value || 'utm_source', autocomplete: 'off', disabled: readOnly });
        detail.append(el('label', { for: id }, t('sources.utm_key'), detailInput));
      }
    }
    kindSelect.addEventListener('change', () => drawDetail(''));
    drawDetail(rest);
    if (!readOnly) {
      row.append(el('button', { type: 'button', class: 'secondary', 'aria-label': t('sources.remove_field_named', { name: nameInput.value || n }), onclick: () => row.remove() }, t('sources.remove_field')));
    }
    row.read = () => {
      const field = nameInput.value.trim();
      if (!field) return null;
      const k = kindSelect.value;
      return [field, detailInput ? k + ':' + detailInput.value.trim() : k];
    };
    return row;
  }

  function editor(data, fields, profile, readOnly) {
    const p = profile || { source: 'form', fields: {} };
    const tool = el('select', { id: 'p-source', disabled: readOnly }, data.tools.map((x) => el('option', { value: x, selected: x === p.source }, t('sources.tool.' + x))));
    const form = el('input', { id: 'p-form', value: p.form || '', autocomplete: 'off', disabled: readOnly });
    const leadName = el('input', { id: 'p-lead-name', value: p.lead_name || '', autocomplete: 'off', placeholder: t('sources.lead_name_example'), disabled: readOnly });
    const d = p.defaults || {};
    const pipeline = el('input', { id: 'p-pipeline', type: 'number', min: 1, inputmode: 'numeric', value: d.pipeline_id || '', disabled: readOnly });
    const source = el('input', { id: 'p-default-source', value: d.source || '', autocomplete: 'off', disabled: readOnly });
    const tags = el('input', { id: 'p-tags', value: (d.tags || []).join(', '), autocomplete: 'off', disabled: readOnly });
    const rows = el('ul', { class: 'plain mappings', 'aria-label': t('sources.mapping') },
      Object.entries(p.fields || {}).map(([name, target]) => mappingRow(fields, name, target, readOnly)));
    const read = () => {
      const out = { source: tool.value, fields: {} };
      if (form.value.trim()) out.form = form.value.trim();
      if (leadName.value.trim()) out.lead_name = leadName.value.trim();
      for (const row of rows.children) { const pair = row.read(); if (pair) out.fields[pair[0]] = pair[1]; }
      const defaults = {};
      if (pipeline.value) defaults.pipeline_id = Number(pipeline.value);
      if (source.value.trim()) defaults.source = source.value.trim();
      if (list(tags.value).length) defaults.tags = list(tags.value);
      if (Object.keys(defaults).length) out.defaults = defaults;
      return out;
    };
    const node = el('form', { class: 'filters', 'aria-labelledby': 'p-title' },
      el('label', { for: 'p-source' }, t('sources.tool'), tool),
      el('label', { for: 'p-form' }, t('sources.form'), form),
      el('label', { for: 'p-lead-name' }, t('sources.lead_name'), leadName),
      el('label', { for: 'p-pipeline' }, t('keys.pipeline'), pipeline),
      el('label', { for: 'p-default-source' }, t('keys.source'), source),
      el('label', { for: 'p-tags' }, t('keys.tags'), tags),
      el('div', { class: 'wide' }, el('h3', null, t('sources.mapping')), rows,
        readOnly ? null : el('div', { class: 'actions' }, el('button', { type: 'button', class: 'secondary', onclick: () => {
          const row = mappingRow(fields, '', PHONE, false);
          rows.append(row);
          row.querySelector('input').focus();
        } }, t('sources.add_field')))),
      readOnly ? el('p', { class: 'wide' }, t('sources.file_read_only')) : el('div', { class: 'actions wide' }, el('button', { type: 'submit' }, t('sources.save'))));
    node.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        await api('/api/v1/admin/sources/profiles', { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(read()) });
        say(t('sources.saved'));
      } catch (error) { say(error.message, true); }
    });
    return { node, read };
  }

  function profilesTable(data, onEdit) {
    if (data.profiles.length === 0) return el('p', null, t('sources.no_profiles'));
    const body = el('tbody');
    for (const item of data.profiles) {
      const p = item.profile;
      const remove = item.editable ? el('button', { type: 'button', class: 'secondary', 'aria-label': t('sources.remove_named', { name: p.source + (p.form ? ' ' + p.form : '') }), onclick: async () => {
        try {
          await api('/api/v1/admin/sources/profiles?source=' + encodeURIComponent(p.source) + (p.form ? '&form=' + encodeURIComponent(p.form) : ''), { method: 'DELETE' });
          await c.render();
          say(t('sources.removed'));
        } catch (error) { say(error.message, true); }
      } }, t('sources.remove')) : null;
      body.append(el('tr', null,
        el('th', { scope: 'row' }, t('sources.tool.' + p.source)),
        el('td', null, p.form || t('sources.any_form')),
        el('td', null, t('keys.origin.' + item.origin)),
        el('td', null, el('div', { class: 'actions' },
          el('button', { type: 'button', class: 'secondary', onclick: () => onEdit(item) }, t(item.editable ? 'sources.edit' : 'sources.view')), remove))));
    }
    return el('div', { class: 'scroll', tabindex: 0, role: 'region', 'aria-label': t('sources.profiles') },
      el('table', null, el('thead', null, el('tr', null, ['sources.tool', 'sources.form', 'keys.origin', 'keys.actions'].map((k) => el('th', { scope: 'col' }, t(k))))), body));
  }

  function preview(submissions, currentProfile) {
    const pick = el('select', { id: 'v-submission' }, el('option', { value: '' }, t('sources.paste_instead')),
      submissions.map((s) => el('option', { value: s.id }, t('sources.submission_option', { id: s.id, tool: t('sources.tool.' + s.source), status: t('sources.status.' + s.status), when: c.when(Date.parse(s.received_at) / 1000) }))));
    const body = el('textarea', { id: 'v-body', placeholder: t('sources.body_example') });
    const out = el('div', { 'aria-live': 'polite' });
    const form = el('form', { class: 'filters', 'aria-labelledby': 'v-title' },
      el('label', { for: 'v-submission' }, t('sources.pick_submission'), pick),
      el('label', { for: 'v-body', class: 'wide' }, t('sources.paste_body'), body),
      el('button', { type: 'submit' }, t('sources.preview')));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const profile = currentProfile();
      const request = pick.value ? { submission_id: Number(pick.value) } : { source: profile ? profile.source : 'form', body: body.value };
      if (profile) request.profile = profile;
      try {
        const d = (await api(c.withAccount('/api/v1/admin/sources/preview', c.state.account), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(request) })).data;
        const problems = Object.entries(d.problems || {});
        out.replaceChildren(
          el('p', null, el('strong', null, t('sources.would_be.' + (d.would_be || 'rejected')))),
          problems.length ? el('ul', null, problems.map(([k, v]) => el('li', null, k + ': ' + v))) : null,
          d.amo_item ? el('h3', null, t('sources.amo_item')) : null,
          d.amo_item ? el('pre', { id: 'preview-item' }, JSON.stringify(d.amo_item, null, 2)) : null,
          d.note ? el('h3', null, t('sources.note')) : null,
          d.note ? el('pre', null, d.note) : null);
      } catch (error) { say(error.message, true); }
    });
    return el('section', { class: 'card' }, el('h2', { id: 'v-title' }, t('sources.preview_title')), el('p', null, t('sources.preview_hint')), form, out);
  }

  function rejected(submissions) {
    const bad = submissions.filter((s) => s.status === 'rejected');
    if (bad.length === 0) return el('p', null, t('sources.no_rejected'));
    return el('ul', { class: 'plain' }, bad.map((s) => el('li', null,
      el('span', null, t('sources.submission_option', { id: s.id, tool: t('sources.tool.' + s.source), status: t('sources.status.' + s.status), when: c.when(Date.parse(s.received_at) / 1000) })),
      el('span', { class: 'muted' }, s.problem || ''),
      el('button', { type: 'button', 'aria-label': t('sources.replay_named', { id: s.id }), onclick: async () => {
        try {
          const d = (await api(c.withAccount('/api/v1/admin/submissions/' + s.id + '/replay', c.state.account), { method: 'POST' })).data;
          await c.render();
          say(t('sources.replayed', { id: s.id, lead: d.lead_id }));
        } catch (error) { say(error.message, true); }
      } }, t('sources.replay')))));
  }

  async function sources(view) {
    c.title('sources.title');
    await c.loadAccounts();
    const data = (await api('/api/v1/admin/sources')).data;
    const fields = await liveFields(c.state.account);
    const submissions = (await api(c.withAccount('/api/v1/admin/submissions?limit=20', c.state.account))).data.submissions.slice().reverse();
    const slot = el('div');
    let current = null;
    const edit = (item) => {
      current = editor(data, fields, item ? item.profile : null, item ? !item.editable : false);
      slot.replaceChildren(current.node);
      slot.querySelector('select, input').focus();
    };
    const picker = c.accountPicker(() => c.render());
    if (picker) view.append(el('form', { class: 'filters' }, picker));
    view.append(
      hooks(data),
      el('h2', null, t('sources.profiles')),
      profilesTable(data, edit),
      el('section', { class: 'card' }, el('h2', { id: 'p-title' }, t('sources.editor_title')),
        fields.lead ? null : el('p', null, t('sources.fields_unavailable')),
        slot,
        el('div', { class: 'actions' }, el('button', { type: 'button', class: 'secondary', onclick: () => edit(null) }, t('sources.new_profile')))),
      preview(submissions, () => current && current.read()),
      el('h2', null, t('sources.rejected')),
      rejected(submissions));
    current = editor(data, fields, null, false);
    slot.replaceChildren(current.node);
  }

  c.page('sources', sources);
})();
