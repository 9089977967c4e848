using System.Globalization;
using System.Text.Json.Nodes;

namespace Emulator;

// Contacts and directly created leads (leads/complex, POST /leads): what finding, linking and merging need.
public sealed partial class EmulatorState
{
    internal const long DefaultResponsibleUserId = 581651;

    private int _contactSearches;

    // GET /api/v4/contacts?query= calls answered (any account), and for one account.
    public int ContactSearches => Volatile.Read(ref _contactSearches);

    public int ContactCount(long? accountId = null)
    {
        lock (_gate)
        {
            return accountId is { } id ? _tallies.TryGetValue(id, out var tally) ? tally.LiveContacts : 0 : _contacts.Count(c => c.MergedInto is null);
        }
    }

    // The contact as GET /api/v4/contacts/{id} shows it; null when unknown, another account's, or merged away.
    public JsonObject? FindContact(long id, EmulatorAccount account, bool withLeads = false)
    {
        lock (_gate)
        {
            return LiveContactLocked(id, account) is { } contact
                ? contact.Render(withLeads)
                : null;
        }
    }

    internal IReadOnlyList<JsonObject> FindContacts(string? query, EmulatorAccount account)
    {
        lock (_gate)
        {
            if (!string.IsNullOrWhiteSpace(query))
            {
                _contactSearches++;
            }

            return [.. _contacts.Where(c => c.AccountId == account.Id && c.MergedInto is null && c.Matches(query)).Select(c => c.Render(false))];
        }
    }

    // A contact that exists before the test: phones and emails stored exactly as given (spaces and all).
    public long SeedContact(EmulatorAccount account, string name, IReadOnlyList<string> phones, IReadOnlyList<string> emails, long? responsibleUserId = null, long? updatedAt = null)
    {
        var fields = new JsonArray();
        if (phones.Count > 0)
        {
            fields.Add(MultiText(EmulatorSeed.PhoneFieldId, "PHONE", phones));
        }

        if (emails.Count > 0)
        {
            fields.Add(MultiText(EmulatorSeed.EmailFieldId, "EMAIL", emails));
        }

        var plan = new ContactPlan(name, null, null, fields.Count > 0 ? fields : null);
        return CreateContacts([(plan, responsibleUserId)], account, updatedAt)[0];
    }

    internal IReadOnlyList<long> CreateContacts(IReadOnlyList<(ContactPlan Plan, long? Responsible)> plans, EmulatorAccount account, long? updatedAt = null)
    {
        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        lock (_gate)
        {
            var ids = new List<long>(plans.Count);
            foreach (var (plan, responsible) in plans)
            {
                var id = _nextContactId++;
                var view = plan.ToView(id, account.Id, now);
                view["is_unsorted"] = false;
                view["responsible_user_id"] = responsible ?? DefaultResponsibleUserId;
                if (updatedAt is { } at)
                {
                    view["updated_at"] = at;
                }

                AddContactLocked(new StoredContact(view, account.Id));
                ids.Add(id);
            }

            return ids;
        }
    }

    // PATCH /api/v4/contacts: a field named in custom_fields_values gets exactly the values sent (amoCRM replaces a
    // field's list, so a client that appends sends the old values and the new one). False when an id is unknown or merged.
    internal bool UpdateContacts(IReadOnlyList<(long Id, JsonArray? Fields, string? Name)> updates, EmulatorAccount account)
    {
        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        lock (_gate)
        {
            var found = updates.Select(u => LiveContactLocked(u.Id, account)).ToList();
            if (found.Any(c => c is null))
            {
                return false;
            }

            for (var i = 0; i < updates.Count; i++)
            {
                found[i]!.Update(updates[i].Fields, updates[i].Name, now);
            }

            return true;
        }
    }

    // A manager merges two contacts: the winner takes the loser's phones, emails and leads; the loser's id then 404s.
    public bool MergeContacts(EmulatorAccount account, long winnerId, long loserId)
    {
        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        lock (_gate)
        {
            var winner = LiveContactLocked(winnerId, account);
            var loser = LiveContactLocked(loserId, account);
            if (winner is null || loser is null || winner == loser)
            {
                return false;
            }

            winner.Absorb(loser, now);
            foreach (var leadId in loser.LeadIds)
            {
                if (_leadsById.TryGetValue(leadId, out var lead))
                {
                    lead.View["_embedded"]!["contacts"] = new JsonArray(new JsonObject { ["id"] = winner.Id, ["is_main"] = true });
                }
            }

            loser.MergedInto = winner.Id;
            TallyLocked(loser.AccountId).LiveContacts--;
            return true;
        }
    }

    // Leads created by leads/complex or POST /leads, all or nothing. A contact is linked by id (it must exist) or created.
    internal IReadOnlyList<(long LeadId, long? ContactId)> CreateLeads(IReadOnlyList<DirectLeadPlan> plans, EmulatorAccount account)
    {
        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        lock (_gate)
        {
            var created = new List<(long, long?)>(plans.Count);
            foreach (var plan in plans)
            {
                long? contactId = plan.LinkContactId;
                if (plan.NewContact is { } contact)
                {
                    contactId = _nextContactId++;
                    var contactView = contact.ToView(contactId.Value, account.Id, now);
                    contactView["is_unsorted"] = false;
                    contactView["responsible_user_id"] = plan.ResponsibleUserId ?? DefaultResponsibleUserId;
                    AddContactLocked(new StoredContact(contactView, account.Id));
                }

                var leadId = _nextLeadId++;
                var tags = new JsonArray();
                foreach (var tag in plan.Lead.Tags)
                {
                    tags.Add(ResolveTagLocked(tag));
                }

                var view = plan.Lead.ToView(leadId, account.Id, plan.PipelineId, plan.StatusId, now, now, tags, contactId);
                view["responsible_user_id"] = plan.ResponsibleUserId ?? DefaultResponsibleUserId;
                var stored = new StoredLead(new LeadRecord(leadId, plan.Lead.Name, plan.Lead.Price, plan.PipelineId, plan.Lead.Received, account.Id), view);
                AddLeadLocked(stored);
                LinkLocked(contactId, leadId);
                created.Add((leadId, contactId));
            }

            return created;
        }
    }

    internal bool ContactLinkable(long id, EmulatorAccount account)
    {
        lock (_gate)
        {
            return LiveContactLocked(id, account) is not null;
        }
    }

    // GET /api/v4/leads: newest first; query= matches the name as text, filter[created_at][from] bounds the age.
    public IReadOnlyList<JsonObject> FindLeads(EmulatorAccount account, string? query, long? createdFrom, IReadOnlySet<string> ids)
    {
        lock (_gate)
        {
            return [.. _leads
                .Where(l => l.Record.AccountId == account.Id)
                .Where(l => ids.Count == 0 || ids.Contains(l.Record.Id.ToString(CultureInfo.InvariantCulture)))
                .Where(l => string.IsNullOrWhiteSpace(query) || (l.Record.Name ?? "").Contains(query.Trim(), StringComparison.OrdinalIgnoreCase))
                .Where(l => createdFrom is null || (long)l.View["created_at"]! >= createdFrom)
                .OrderByDescending(l => l.Record.Id)
                .Select(l => (JsonObject)l.View.DeepClone())];
        }
    }

    // A manager moves a lead (the control endpoint): GET /api/v4/leads/{id} shows the new pipeline and status.
    public void SetLeadStatus(long id, long pipelineId, long statusId)
    {
        lock (_gate)
        {
            if (_leadsById.TryGetValue(id, out var lead))
            {
                lead.View["pipeline_id"] = pipelineId;
                lead.View["status_id"] = statusId;
                lead.View["closed_at"] = statusId is EmulatorSeed.WonStatusId or EmulatorSeed.LostStatusId ? _time.GetUtcNow().ToUnixTimeSeconds() : null;
            }
        }
    }

    private void LinkLocked(long? contactId, long leadId)
    {
        if (contactId is { } id && _contactsById.TryGetValue(id, out var contact))
        {
            contact.LeadIds.Add(leadId);
        }
    }

    // Contacts by id beside the list (which keeps creation order for searches): a scan of every contact per lead
    // made a bench's ten thousand leads cost the emulator more than the gateway.
    private void AddContactLocked(StoredContact contact)
    {
        _contacts.Add(contact);
        _contactsById[contact.Id] = contact;
        TallyLocked(contact.AccountId).LiveContacts++;
    }

    private StoredContact? LiveContactLocked(long id, EmulatorAccount account) =>
        _contactsById.TryGetValue(id, out var contact) && contact.AccountId == account.Id && contact.MergedInto is null ? contact : null;

    private static JsonObject MultiText(long fieldId, string code, IEnumerable<string> values) => new()
    {
        ["field_id"] = fieldId,
        ["field_code"] = code,
        ["values"] = new JsonArray([.. values.Select(v => (JsonNode)new JsonObject { ["value"] = v, ["enum_code"] = "WORK" })]),
    };

    private sealed class StoredContact(JsonObject view, long accountId)
    {
        public long Id { get; } = (long)view["id"]!;

        public long AccountId { get; } = accountId;

        public List<long> LeadIds { get; } = [];

        public long? MergedInto { get; set; }

        private JsonObject Data => view;

        public JsonObject Render(bool withLeads)
        {
            var copy = (JsonObject)view.DeepClone();
            if (withLeads)
            {
                copy["_embedded"]!["leads"] = new JsonArray([.. LeadIds.Select(id => (JsonNode)new JsonObject { ["id"] = id })]);
            }

            return copy;
        }

        // Like amoCRM's query=: a substring of the name or of any field's value as stored. No digit folding: a phone
        // stored as "+998 90 111 22 33" is not found by "901112233" (amocrm-api-php #325).
        public bool Matches(string? query)
        {
            if (string.IsNullOrWhiteSpace(query))
            {
                return true;
            }

            var needle = query.Trim();
            return Texts().Any(t => t.Contains(needle, StringComparison.OrdinalIgnoreCase));
        }

        public void Update(JsonArray? fields, string? name, long now)
        {
            if (name is not null)
            {
                view["name"] = name;
            }

            if (fields is not null)
            {
                var current = view["custom_fields_values"] as JsonArray ?? [];
                foreach (var field in fields.OfType<JsonObject>())
                {
                    var existing = current.OfType<JsonObject>().FirstOrDefault(f => SameField(f, field));
                    if (existing is not null)
                    {
                        current.Remove(existing);
                    }

                    current.Add(field.DeepClone());
                }

                view["custom_fields_values"] = current;
            }

            view["updated_at"] = now;
        }

        public void Absorb(StoredContact loser, long now)
        {
            var current = view["custom_fields_values"] as JsonArray ?? [];
            foreach (var field in (loser.Data["custom_fields_values"] as JsonArray ?? []).OfType<JsonObject>())
            {
                if (current.OfType<JsonObject>().FirstOrDefault(f => SameField(f, field)) is { } mine)
                {
                    var values = mine["values"]!.AsArray();
                    foreach (var value in field["values"]!.AsArray())
                    {
                        values.Add(value!.DeepClone());
                    }
                }
                else
                {
                    current.Add(field.DeepClone());
                }
            }

            view["custom_fields_values"] = current;
            view["updated_at"] = now;
            LeadIds.AddRange(loser.LeadIds);
        }

        private static bool SameField(JsonObject a, JsonObject b) =>
            (JsonRead.TryGetInteger(a["field_id"], out var x) && JsonRead.TryGetInteger(b["field_id"], out var y) && x == y)
            || (JsonRead.AsScalarText(a["field_code"]) is { } ca && string.Equals(ca, JsonRead.AsScalarText(b["field_code"]), StringComparison.OrdinalIgnoreCase));

        private IEnumerable<string> Texts()
        {
            foreach (var key in new[] { "name", "first_name", "last_name" })
            {
                if (JsonRead.AsScalarText(view[key]) is { Length: > 0 } text)
                {
                    yield return text;
                }
            }

            foreach (var field in (view["custom_fields_values"] as JsonArray ?? []).OfType<JsonObject>())
            {
                foreach (var value in field["values"] as JsonArray ?? [])
                {
                    if (JsonRead.AsScalarText(value?["value"]) is { Length: > 0 } text)
                    {
                        yield return text;
                    }
                }
            }
        }
    }
}

// One lead of leads/complex or POST /leads: a contact linked by id, or a new one, or none.
internal sealed record DirectLeadPlan(string? RequestId, long PipelineId, long StatusId, LeadPlan Lead, long? LinkContactId, ContactPlan? NewContact, long? ResponsibleUserId);
