'use strict';
// The Keys page: API keys created here (stored in the database), revoked here, and the .env and file keys read-only.
// A new key's value is in the create answer only: shown once, with a copy button, and gone when the page is left.
(() => {
  const c = window.GatewayConsole;
  const { t, el, api, say } = c;
  const scopes = ['leads', 'read', 'admin'];
  const list = (text) => text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);

  async function copy(text, button) {
    try {
      await navigator.clipboard.writeText(text);
      say(t('keys.copied'));
    } catch {
      say(t('keys.copy_failed'), true);
    }
    button.focus();
  }

  function shownOnce(created) {
    const value = el('code', { id: 'new-key' }, created.key);
    const button = el('button', { type: 'button', class: 'secondary', onclick: () => copy(created.key, button) }, t('keys.copy'));
    return el('section', { class: 'card', role: 'region', 'aria-labelledby': 'new-key-title' },
      el('h2', { id: 'new-key-title' }, t('keys.created_title', { name: created.name })),
      el('p', null, t('keys.created_once')),
      el('p', { class: 'secret' }, value),
      el('div', { class: 'actions' }, button));
  }

  function createForm(accounts, onCreated) {
    const name = el('input', { id: 'k-name', name: 'name', required: true, maxlength: 64, pattern: '[A-Za-z0-9._\\-]+', autocomplete: 'off' });
    const boxes = scopes.map((s) => el('input', { type: 'checkbox', id: 'k-scope-' + s, name: 'scopes', value: s, checked: s === 'leads' }));
    const account = el('select', { id: 'k-account', name: 'account' }, el('option', { value: '' }, t('keys.account_any')),
      accounts.map((a) => el('option', { value: a.domain }, a.domain)));
    const origins = el('input', { id: 'k-origins', name: 'cors_origins', placeholder: 'https://example.com', autocomplete: 'off' });
    const source = el('input', { id: 'k-source', name: 'source', autocomplete: 'off' });
    const pipeline = el('input', { id: 'k-pipeline', name: 'pipeline_id', type: 'number', min: 1, inputmode: 'numeric' });
    const tags = el('input', { id: 'k-tags', name: 'tags', autocomplete: 'off' });
    const form = el('form', { class: 'filters', 'aria-labelledby': 'k-create-title' },
      el('label', { for: 'k-name' }, t('keys.name'), name),
      el('fieldset', { class: 'choices' }, el('legend', null, t('keys.scopes')),
        scopes.map((s, i) => el('label', { for: 'k-scope-' + s }, boxes[i], t('keys.scope.' + s)))),
      el('label', { for: 'k-account' }, t('keys.account'), account),
      el('label', { for: 'k-origins' }, t('keys.origins'), origins),
      el('label', { for: 'k-source' }, t('keys.source'), source),
      el('label', { for: 'k-pipeline' }, t('keys.pipeline'), pipeline),
      el('label', { for: 'k-tags' }, t('keys.tags'), tags),
      el('button', { type: 'submit' }, t('keys.create')));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const body = { name: name.value.trim(), scopes: boxes.filter((b) => b.checked).map((b) => b.value) };
      if (account.value) body.account = account.value;
      if (list(origins.value).length) body.cors_origins = list(origins.value);
      if (source.value.trim()) body.source = source.value.trim();
      if (pipeline.value) body.pipeline_id = Number(pipeline.value);
      if (list(tags.value).length) body.tags = list(tags.value);
      try {
        const answer = await api('/api/v1/admin/keys', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
        await onCreated(answer.data);
      } catch (error) { say(error.message, true); }
    });
    return el('section', { class: 'card' }, el('h2', { id: 'k-create-title' }, t('keys.create_title')), form);
  }

  function table(keys) {
    const body = el('tbody');
    for (const k of keys) {
      const revoke = k.revocable ? el('button', { type: 'button', class: 'secondary', 'aria-label': t('keys.revoke_named', { name: k.name }), onclick: async () => {
        try {
          await api('/api/v1/admin/keys/' + encodeURIComponent(k.name), { method: 'DELETE' });
          await c.render();
          say(t('keys.revoked', { name: k.name }));
        } catch (error) { say(error.message, true); }
      } }, t('keys.revoke')) : t('keys.read_only');
      body.append(el('tr', null,
        el('th', { scope: 'row' }, k.name),
        el('td', null, t('keys.origin.' + k.origin)),
        el('td', null, k.scopes.map((s) => t('keys.scope.' + s)).join(', ')),
        el('td', null, k.account || t('keys.account_any')),
        el('td', null, k.cors_origins ? k.cors_origins.join(' ') : t('none')),
        el('td', null, k.origin === 'database' ? c.when(k.last_used_at) : t('keys.not_tracked')),
        el('td', null, revoke)));
    }
    return el('div', { class: 'scroll', tabindex: 0, role: 'region', 'aria-label': t('keys.list') },
      el('table', null,
        el('thead', null, el('tr', null, ['keys.name', 'keys.origin', 'keys.scopes', 'keys.account', 'keys.origins', 'keys.last_used', 'keys.actions'].map((k) => el('th', { scope: 'col' }, t(k))))),
        body));
  }

  async function keys(view) {
    c.title('keys.title');
    const accounts = await c.loadAccounts();
    const data = (await api('/api/v1/admin/keys')).data;
    view.append(createForm(accounts, async (created) => {
      // Kept in this page's memory only, so the Sources page can show the hook URLs with it until the page is reloaded.
      c.state.freshKey = { name: created.name, key: created.key };
      await c.render();
      $view().prepend(shownOnce(created));
      say(t('keys.created', { name: created.name }));
      document.getElementById('new-key-title').scrollIntoView();
    }), el('h2', null, t('keys.list')), table(data.keys));
  }

  const $view = () => document.getElementById('view');

  c.page('keys', keys);
})();
