'use strict';
// Below the Accounts page's table: add an account (stored in the database beside ACCOUNTS_FILE) and remove one added so.
// The secrets typed here go to the gateway once and are never shown again (the list says only whether one is set).
(() => {
  const c = window.GatewayConsole;
  const { t, el, api, say } = c;

  function field(id, key, attrs) {
    const input = el('input', { id, name: id.slice(2), autocomplete: 'off', ...attrs });
    return { input, label: el('label', { for: id }, t(key), input) };
  }

  function addForm() {
    const f = {
      domain: field('a-domain', 'accounts.add.domain', { required: true, placeholder: t('accounts.add.domain_example') }),
      client_id: field('a-client_id', 'accounts.add.client_id', {}),
      client_secret: field('a-client_secret', 'accounts.add.client_secret', { type: 'password' }),
      redirect_uri: field('a-redirect_uri', 'accounts.add.redirect_uri', { type: 'url' }),
      long_lived_token: field('a-long_lived_token', 'accounts.add.long_lived_token', { type: 'password' }),
      rate_limit: field('a-rate_limit', 'accounts.add.rate_limit', { type: 'number', min: 1, max: 7, inputmode: 'numeric' }),
      base_url: field('a-base_url', 'accounts.add.base_url', { type: 'url' }),
      auth_url: field('a-auth_url', 'accounts.add.auth_url', { type: 'url' }),
    };
    const form = el('form', { class: 'filters', 'aria-labelledby': 'a-add-title' },
      Object.values(f).map((x) => x.label),
      el('button', { type: 'submit' }, t('accounts.add.submit')));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const body = {};
      for (const [name, x] of Object.entries(f)) {
        const value = x.input.value.trim();
        if (value) body[name] = name === 'rate_limit' ? Number(value) : value;
      }
      try {
        const answer = await api('/api/v1/admin/accounts', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
        await c.render();
        say(t('accounts.add.added', { domain: answer.data.domain }));
      } catch (error) { say(error.message, true); }
    });
    return el('section', { class: 'card' },
      el('h2', { id: 'a-add-title' }, t('accounts.add.title')),
      el('p', null, t('accounts.add.hint')),
      form);
  }

  function added(accounts) {
    const mine = accounts.filter((a) => a.source === 'database');
    if (mine.length === 0) return null;
    return el('section', { class: 'card' },
      el('h2', null, t('accounts.add.added_title')),
      el('ul', { class: 'plain' }, mine.map((a) => el('li', null, el('span', null, a.domain), ' ',
        el('button', { type: 'button', class: 'secondary', 'aria-label': t('accounts.add.remove_named', { domain: a.domain }), onclick: async () => {
          try {
            await api('/api/v1/admin/accounts/' + encodeURIComponent(a.domain), { method: 'DELETE' });
            await c.render();
            say(t('accounts.add.removed', { domain: a.domain }));
          } catch (error) { say(error.message, true); }
        } }, t('accounts.add.remove'))))));
  }

  c.after('accounts', async (view) => {
    view.append(added(c.state.accounts) || '', addForm());
  });
})();
