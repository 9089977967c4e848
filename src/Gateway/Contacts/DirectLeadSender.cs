using System.Globalization;
using System.Text.Json.Nodes;
using Gateway.Amo;
using Gateway.Leads;
using Gateway.Outbox;
using Microsoft.Extensions.Options;

namespace Gateway.Contacts;

// Lead mode, one claimed batch: for each lead the contact step (the cache, else a search; re-checked, appended to),
// then the leads that need one are created in one leads/complex call; a note_open_lead lead whose contact has an open
// lead in the pipeline is settled onto that lead instead, and its note goes out with the other notes. Every step is
// written on the lead's row before the next starts, so a crash resumes at the next step; a create whose answer was lost
// is looked for before it goes again.
internal sealed partial class DirectLeadSender(
    AmoClient amo,
    ContactKeyStore cache,
    DirectStepStore steps,
    LeadCallStore trace,
    Leads.PhoneNumbers phones,
    IOptions<OutboxOptions> outboxOptions,
    TimeProvider time,
    ILogger<DirectLeadSender> logger) : IDirectLeadSender
{
    private const long WonStatusId = 142;
    private const long LostStatusId = 143;

    // A lookup of a lost create looks this far before the first send (clocks of amoCRM and the gateway differ a little).
    private static readonly TimeSpan LookBack = TimeSpan.FromMinutes(10);

    private static readonly AmoPriority Delivery = new(AmoCallClass.Delivery);

    private RetrySchedule Schedule => RetrySchedule.From(outboxOptions.Value);

    public async Task<DirectOutcome> SendAsync(string account, IReadOnlyList<ComposedLead> leads, CancellationToken cancellationToken)
    {
        var plans = new List<LeadPlan>();
        var writes = new List<(long, string, long?)>();
        var delivered = new List<DeliveredLead>();
        var toCreate = new List<ComposedLead>();
        var assignNext = new List<ClaimedLead>();
        for (var i = 0; i < leads.Count; i++)
        {
            var composed = leads[i];
            var direct = composed.Direct!;
            if (direct.Contacts != DeliverySettings.Create && !composed.Lead.Steps.ContactResolved)
            {
                var (resolved, failure) = await ResolveAsync(account, composed, cancellationToken);
                if (failure is not null)
                {
                    // amoCRM is unwell: this lead and every one not yet settled go back; the resolved keep their step.
                    var rest = leads.Skip(i).Select(l => l.Lead).Concat(toCreate.Select(t => t.Lead)).Concat(assignNext).ToList();
                    plans.Insert(0, Delivered(delivered, composed.Lead.ClaimToken));
                    plans.Add(Settlement.LeadsDeferred(rest, failure, time.GetUtcNow(), Schedule));
                    return new DirectOutcome(plans, writes);
                }

                composed = composed with { Lead = resolved! };
                if (direct.AwaitsContact)
                {
                    // Its contact is known now: round once more, to be given to that contact's manager before the create.
                    assignNext.Add(composed.Lead);
                    continue;
                }
            }

            if (direct.Contacts == DeliverySettings.NoteOpenLead && composed.Lead.Steps.TargetLeadId is { } open)
            {
                delivered.Add(new DeliveredLead(composed.Lead.Id, composed.Lead.SourceUid, "", open, composed.Lead.Steps.LinkedContactId,
                    new JsonObject { ["noted_on_lead"] = open }.ToJsonString(), WithStepNotes(composed.Lead, direct.SubmissionNote)));
                writes.Add((composed.Lead.Id, composed.Lead.Steps.With(steps.Stamp(new JsonObject { ["step"] = "note_open_lead", ["lead_id"] = open })), open));
                continue;
            }

            toCreate.Add(composed);
        }

        if (toCreate.Count > 0)
        {
            await CreateAsync(account, toCreate, plans, writes, delivered, cancellationToken);
        }

        if (assignNext.Count > 0)
        {
            plans.Add(new LeadPlan
            {
                ClaimToken = leads[0].Lead.ClaimToken,
                Requeue = new LeadRequeue([.. assignNext.Select(l => (l.Id, time.GetUtcNow()))], null, CountAttempt: false, Solo: false, OutcomeKnown: true),
                Verdict = BatchVerdict.Continue,
            });
        }

        plans.Insert(0, Delivered(delivered, leads[0].Lead.ClaimToken));
        return new DirectOutcome(plans, writes);
    }

    private async Task CreateAsync(
        string account, List<ComposedLead> toCreate, List<LeadPlan> plans, List<(long, string, long?)> writes, List<DeliveredLead> delivered, CancellationToken cancellationToken)
    {
        // A create that went out and whose answer never came: look for the lead before sending it again.
        foreach (var composed in toCreate.Where(c => c.Lead.UnconfirmedSince is not null).ToList())
        {
            var look = await trace.TracedAsync(account, [(composed.Lead.Id, composed.Lead.SourceUid, null)], LeadCallStep.Lead, "GET", LookupPath(composed),
                path => amo.GetAsync(account, path, Delivery, CancellationToken.None));
            if (!look.Ok)
            {
                plans.Add(Settlement.LeadsDeferred(toCreate.Select(c => c.Lead).ToList(), look, time.GetUtcNow(), Schedule));
                toCreate.Clear();
                return;
            }

            if (FindCreated(look.Body, composed) is { } found)
            {
                LogFoundCreated(account, composed.Lead.Id, found.LeadId);
                var contactId = found.ContactId ?? composed.Lead.Steps.LinkedContactId;
                await LearnAsync(account, composed, contactId, cancellationToken);
                delivered.Add(new DeliveredLead(composed.Lead.Id, composed.Lead.SourceUid, "", found.LeadId, contactId, found.Answer, WithStepNotes(composed.Lead, composed.NoteText)));
                writes.Add((composed.Lead.Id, composed.Lead.Steps.With(steps.Stamp(new JsonObject { ["step"] = composed.Lead.Steps.LinkedContactId is null ? "create" : "link", ["outcome"] = "found_after_lost_answer", ["lead_id"] = found.LeadId, ["contact_id"] = contactId })), found.LeadId));
                toCreate.Remove(composed);
            }
        }

        if (toCreate.Count == 0)
        {
            return;
        }

        var body = new JsonArray([.. toCreate.Select(c => (JsonNode)ItemFor(c))]);
        var token = toCreate[0].Lead.ClaimToken;
        var ids = toCreate.Select(c => c.Lead.Id).ToList();
        var items = toCreate.Select((c, n) => (c.Lead.Id, c.Lead.SourceUid, (string?)body[n]!.ToJsonString())).ToList();
        var result = await trace.TracedAsync(account, items, LeadCallStep.Lead, "POST", "api/v4/leads/complex",
            path => amo.PostAsync(account, path, body, () => steps.RenewAsync(token, ids, outboxOptions.Value.Lease, CancellationToken.None), CancellationToken.None),
            [.. toCreate.Where(c => c.Lead.Attempts >= LeadCallStore.BoundFromAttempts).Select(c => c.Lead.Id)]);
        if (result.Failure == AmoFailure.Withdrawn)
        {
            return;
        }

        if (result.Ok)
        {
            var unmatched = toCreate.ToDictionary(c => c.Lead.SourceUid);
            foreach (var answer in (result.Body as JsonArray ?? []).OfType<JsonObject>())
            {
                var requestId = answer["request_id"] is JsonArray list ? AmoJson.Text(list.FirstOrDefault()) : AmoJson.Text(answer["request_id"]);
                if (requestId is null || !unmatched.Remove(requestId, out var composed) || AmoJson.Long(answer["id"]) is not { } leadId)
                {
                    continue;
                }

                var contactId = AmoJson.Long(answer["contact_id"]) ?? composed.Lead.Steps.LinkedContactId;
                await LearnAsync(account, composed, contactId, cancellationToken);
                delivered.Add(new DeliveredLead(composed.Lead.Id, composed.Lead.SourceUid, "", leadId, contactId, answer.ToJsonString(), WithStepNotes(composed.Lead, composed.NoteText)));
                var step = new JsonObject
                {
                    ["step"] = composed.Lead.Steps.LinkedContactId is null ? "create" : "link",
                    ["lead_id"] = leadId,
                    ["contact_id"] = contactId,
                    ["merged"] = answer["merged"]?.DeepClone(),
                };
                writes.Add((composed.Lead.Id, composed.Lead.Steps.With(steps.Stamp(step)), leadId));
            }

            // amoCRM said yes without naming these: a blind resend could duplicate them, so they fail for a person to check.
            if (unmatched.Count > 0)
            {
                plans.Add(new LeadPlan
                {
                    ClaimToken = token,
                    Failed = [.. unmatched.Values.Select(c => new FailedLead(c.Lead.Id, Settlement.ErrorJson(result, Settlement.Unconfirmed), SentUnconfirmed: true))],
                    Wake = [.. unmatched.Values.Select(c => new LeadWake(c.Lead.SourceUid, new LeadOutcome(LeadOutcomeKind.Failed)))],
                    Unmatched = unmatched.Count,
                    Verdict = BatchVerdict.Continue,
                });
            }

            return;
        }

        // A linked contact amoCRM no longer has (merged away, deleted): forget it and find the contact again.
        if (result.Failure == AmoFailure.BadRequest && GoneContacts(result, toCreate) is { Count: > 0 } gone)
        {
            foreach (var composed in gone)
            {
                await cache.ForgetAsync(account, composed.Lead.Steps.LinkedContactId!.Value, cancellationToken);
                await steps.ForgetContactAsync(composed.Lead, new JsonObject { ["step"] = "link", ["outcome"] = "contact_gone", ["contact_id"] = composed.Lead.Steps.LinkedContactId }, cancellationToken);
                LogContactGone(account, composed.Lead.Id);
            }

            plans.Add(new LeadPlan
            {
                ClaimToken = token,
                Requeue = new LeadRequeue([.. toCreate.Select(c => (c.Lead.Id, time.GetUtcNow()))], null, CountAttempt: false, Solo: false, OutcomeKnown: true),
                Verdict = BatchVerdict.Continue,
            });
            return;
        }

        plans.Add(Settlement.Leads([.. toCreate.Select(c => new SentLead(c.Lead, c.NoteText))], result, time.GetUtcNow(), Schedule));
    }

    // The complex item as composed, or with {"id":N} for the contact the contact step found, and the chosen manager.
    private static JsonObject ItemFor(ComposedLead composed)
    {
        var item = (JsonObject)composed.Item.DeepClone();
        if (composed.Direct!.ResponsibleUserId is { } responsible)
        {
            item["responsible_user_id"] = responsible;
        }

        if (composed.Lead.Steps.LinkedContactId is { } contactId)
        {
            var embedded = item["_embedded"] as JsonObject ?? [];
            embedded["contacts"] = new JsonArray(new JsonObject { ["id"] = contactId });
            item["_embedded"] = embedded;
        }

        return item;
    }

    private static List<ComposedLead> GoneContacts(AmoResult result, List<ComposedLead> sent)
    {
        var gone = new List<ComposedLead>();
        foreach (var entry in (result.Body?["validation-errors"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var requestId = AmoJson.Text(entry["request_id"]);
            var aboutContact = (entry["errors"] as JsonArray ?? []).OfType<JsonObject>().Any(e => AmoJson.Text(e["path"]) is { } path && path.Contains("contacts.0.id", StringComparison.Ordinal));
            if (aboutContact && sent.FirstOrDefault(c => c.Lead.SourceUid == requestId && c.Lead.Steps.LinkedContactId is not null) is { } lead)
            {
                gone.Add(lead);
            }
        }

        return gone;
    }

    private static string LookupPath(ComposedLead composed)
    {
        var from = (composed.Lead.UnconfirmedSince!.Value - LookBack).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        return "api/v4/leads?with=contacts&order[created_at]=desc&limit=50&filter[created_at][from]=" + from
            + "&query=" + Uri.EscapeDataString(composed.Direct!.Name);
    }

    // The created lead is the newest one of that name (in that pipeline, on the found contact when one was linked).
    private static (long LeadId, long? ContactId, string Answer)? FindCreated(JsonNode? body, ComposedLead composed)
    {
        var pipeline = AmoJson.Long(composed.Item["pipeline_id"]);
        foreach (var lead in (body?["_embedded"]?["leads"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var contacts = (lead["_embedded"]?["contacts"] as JsonArray ?? []).OfType<JsonObject>().Select(c => AmoJson.Long(c["id"])).ToList();
            if (AmoJson.Text(lead["name"]) == AmoJson.Text(composed.Item["name"])
                && (pipeline is null || AmoJson.Long(lead["pipeline_id"]) == pipeline)
                && (composed.Lead.Steps.LinkedContactId is not { } linked || contacts.Contains(linked))
                && AmoJson.Long(lead["id"]) is { } id)
            {
                return (id, contacts.FirstOrDefault(), lead.ToJsonString());
            }
        }

        return null;
    }

    private async Task LearnAsync(string account, ComposedLead composed, long? contactId, CancellationToken cancellationToken)
    {
        if (contactId is { } id && composed.Direct!.Contacts != DeliverySettings.Create)
        {
            await cache.LearnAsync(account, cache.KeysOf(composed.Direct.Phone, composed.Direct.Email), id, composed.Lead.Steps.ContactResponsibleUserId, cancellationToken);
        }
    }

    private static LeadPlan Delivered(List<DeliveredLead> delivered, string claimToken) => new()
    {
        ClaimToken = claimToken,
        Delivered = delivered,
        Health = delivered.Count > 0 ? AccountHealth.Success : AccountHealth.Unchanged,
        Wake = [.. delivered.Select(d => new LeadWake(d.SourceUid, new LeadOutcome(LeadOutcomeKind.Delivered)))],
        Verdict = BatchVerdict.Continue,
    };

    // The note a lead's steps left (several matching contacts) goes with its own note.
    private static string? WithStepNotes(ClaimedLead lead, string? noteText)
    {
        var notes = lead.Steps.List.OfType<JsonObject>().Select(s => AmoJson.Text(s["note"])).OfType<string>().Distinct().ToList();
        return notes.Count == 0 ? noteText : string.Join("\n\n", notes.Prepend(noteText).OfType<string>().Where(n => n.Length > 0));
    }

    // The contact step: the cache first (no call when every key names the same contact), else a search re-checked
    // value by value; then the new phone or email appended, and for note_open_lead the open lead looked for.
    private async Task<(ClaimedLead? Lead, AmoResult? Failure)> ResolveAsync(string account, ComposedLead composed, CancellationToken cancellationToken)
    {
        var lead = composed.Lead;
        var direct = composed.Direct!;
        var keys = cache.KeysOf(direct.Phone, direct.Email);
        if (keys.IsEmpty)
        {
            return (await steps.RecordContactAsync(lead, null, null, null, new JsonObject { ["step"] = "contact", ["outcome"] = "no_phone_or_email" }, cancellationToken), null);
        }

        var withLeads = direct.Contacts == DeliverySettings.NoteOpenLead;
        var calls = 0;
        IReadOnlyList<(long, string, string?)> traced = [(lead.Id, lead.SourceUid, null)];
        JsonObject? contact = null;
        string? note = null;
        var source = "search";
        if (await cache.FindAsync(account, keys, cancellationToken) is { } cached)
        {
            if (cached.AllKeys && !withLeads)
            {
                var step = new JsonObject { ["step"] = "contact", ["source"] = "cache", ["outcome"] = "found", ["contact_id"] = cached.Id, ["calls"] = 0 };
                return (await steps.RecordContactAsync(lead, cached.Id, cached.ResponsibleUserId, null, step, cancellationToken), null);
            }

            calls++;
            var byId = await trace.TracedAsync(account, traced, LeadCallStep.Contact, "GET", "api/v4/contacts/" + cached.Id.ToString(CultureInfo.InvariantCulture) + (withLeads ? "?with=leads" : ""),
                path => amo.GetAsync(account, path, Delivery, CancellationToken.None));
            if (byId.Failure == AmoFailure.NotFound)
            {
                // Merged away or deleted since it was learnt: forget it and search as if it had never been known.
                await cache.ForgetAsync(account, cached.Id, cancellationToken);
                LogCachedContactGone(account, lead.Id);
            }
            else if (!byId.Ok)
            {
                return (null, byId);
            }
            else if (byId.Body is JsonObject found && Matches(found, keys))
            {
                contact = found;
                source = "cache";
            }
        }

        if (contact is null)
        {
            var queries = new List<string>();
            if (keys.Phone is { } phone)
            {
                queries.Add(Leads.PhoneNumbers.NationalDigits(phone));
            }

            if (keys.Email is { } email)
            {
                queries.Add(email);
            }

            foreach (var query in queries)
            {
                calls++;
                var search = await trace.TracedAsync(account, traced, LeadCallStep.Contact, "GET", "api/v4/contacts?limit=50&query=" + Uri.EscapeDataString(query) + (withLeads ? "&with=leads" : ""),
                    path => amo.GetAsync(account, path, Delivery, CancellationToken.None));
                if (!search.Ok)
                {
                    return (null, search);
                }

                var matching = (search.Body?["_embedded"]?["contacts"] as JsonArray ?? []).OfType<JsonObject>().Where(c => Matches(c, keys)).ToList();
                if (matching.Count == 0)
                {
                    continue;
                }

                contact = matching.OrderByDescending(c => AmoJson.Long(c["updated_at"]) ?? 0).ThenByDescending(c => AmoJson.Long(c["id"]) ?? 0).First();
                if (matching.Count > 1)
                {
                    note = string.Create(CultureInfo.InvariantCulture, $"{matching.Count} contacts match this submission's phone or email (ids {string.Join(", ", matching.Select(c => AmoJson.Long(c["id"])))}); it went to the most recently updated one, #{AmoJson.Long(contact["id"])}.");
                }

                break;
            }
        }

        if (contact is null)
        {
            var step = new JsonObject { ["step"] = "contact", ["source"] = "search", ["outcome"] = "not_found", ["calls"] = calls };
            return (await steps.RecordContactAsync(lead, null, null, null, step, cancellationToken), null);
        }

        var contactId = AmoJson.Long(contact["id"])!.Value;
        var responsible = AmoJson.Long(contact["responsible_user_id"]);
        if (Appended(contact, keys) is { } fields)
        {
            calls++;
            var patch = await trace.TracedAsync(account, traced, LeadCallStep.Contact, "PATCH", "api/v4/contacts",
                path => amo.PatchAsync(account, path, new JsonArray(new JsonObject { ["id"] = contactId, ["custom_fields_values"] = fields }), CancellationToken.None));
            if (!patch.Ok && patch.Failure != AmoFailure.BadRequest)
            {
                return (null, patch);
            }
        }

        await cache.LearnAsync(account, keys, contactId, responsible, cancellationToken);
        long? target = null;
        if (withLeads)
        {
            var (open, failure, used) = await OpenLeadAsync(account, traced, contact, direct.PipelineId);
            calls += used;
            if (failure is not null)
            {
                return (null, failure);
            }

            target = open;
        }

        var found2 = new JsonObject
        {
            ["step"] = "contact",
            ["source"] = source,
            ["outcome"] = "found",
            ["contact_id"] = contactId,
            ["calls"] = calls,
        };
        if (note is not null)
        {
            found2["note"] = note;
        }

        if (withLeads)
        {
            found2["open_lead_id"] = target;
        }

        return (await steps.RecordContactAsync(lead, contactId, responsible, target, found2, cancellationToken), null);
    }

    // The contact's newest open lead (not won, not lost) in the pipeline, from its lead ids.
    private async Task<(long? Open, AmoResult? Failure, int Calls)> OpenLeadAsync(string account, IReadOnlyList<(long, string, string?)> traced, JsonObject contact, long? pipelineId)
    {
        var ids = (contact["_embedded"]?["leads"] as JsonArray ?? []).OfType<JsonObject>().Select(l => AmoJson.Long(l["id"])).OfType<long>().OrderDescending().Take(50).ToList();
        if (ids.Count == 0)
        {
            return (null, null, 0);
        }

        var path = "api/v4/leads?limit=50&" + string.Join('&', ids.Select(id => "filter[id][]=" + id.ToString(CultureInfo.InvariantCulture)));
        var result = await trace.TracedAsync(account, traced, LeadCallStep.Contact, "GET", path, p => amo.GetAsync(account, p, Delivery, CancellationToken.None));
        if (!result.Ok)
        {
            return (null, result, 1);
        }

        var open = (result.Body?["_embedded"]?["leads"] as JsonArray ?? []).OfType<JsonObject>()
            .Where(l => AmoJson.Long(l["status_id"]) is { } status && status is not (WonStatusId or LostStatusId))
            .Where(l => pipelineId is null || AmoJson.Long(l["pipeline_id"]) == pipelineId)
            .OrderByDescending(l => AmoJson.Long(l["updated_at"]) ?? 0)
            .ThenByDescending(l => AmoJson.Long(l["id"]) ?? 0)
            .FirstOrDefault();
        return (open is null ? null : AmoJson.Long(open["id"]), null, 1);
    }

    // Whether one of the contact's PHONE values is the lead's phone, or one of its EMAIL values its email, once both
    // sides are normalised: a search hit on some other field's text is not a match.
    private bool Matches(JsonObject contact, ContactKeys keys) =>
        (keys.Phone is { } phone && Values(contact, "PHONE").Any(v => phones.TryNormalize(v, out var e164) && e164 == phone))
        || (keys.Email is { } email && Values(contact, "EMAIL").Any(v => string.Equals(v.Trim(), email, StringComparison.OrdinalIgnoreCase)));

    private static IEnumerable<string> Values(JsonObject contact, string code) =>
        (contact["custom_fields_values"] as JsonArray ?? []).OfType<JsonObject>()
            .Where(f => string.Equals(AmoJson.Text(f["field_code"]), code, StringComparison.Ordinal))
            .SelectMany(f => (f["values"] as JsonArray ?? []).OfType<JsonObject>())
            .Select(v => AmoJson.Text(v["value"]))
            .OfType<string>();

    // The PHONE and EMAIL fields with the lead's new value added to the ones the contact has (never replacing any);
    // null when it has them already.
    private JsonArray? Appended(JsonObject contact, ContactKeys keys)
    {
        var fields = new JsonArray();
        void Add(string code, string value, Func<string, bool> same)
        {
            var existing = (contact["custom_fields_values"] as JsonArray ?? []).OfType<JsonObject>()
                .FirstOrDefault(f => string.Equals(AmoJson.Text(f["field_code"]), code, StringComparison.Ordinal));
            var values = (existing?["values"] as JsonArray ?? []).OfType<JsonObject>().ToList();
            if (values.Any(v => AmoJson.Text(v["value"]) is { } text && same(text)))
            {
                return;
            }

            var list = new JsonArray([.. values.Select(v => (JsonNode)new JsonObject { ["value"] = v["value"]?.DeepClone(), ["enum_code"] = v["enum_code"]?.DeepClone() ?? "WORK" })]);
            list.Add((JsonNode)new JsonObject { ["value"] = value, ["enum_code"] = "WORK" });
            fields.Add((JsonNode)new JsonObject { ["field_code"] = code, ["values"] = list });
        }

        if (keys.Phone is { } phone)
        {
            Add("PHONE", phone, v => phones.TryNormalize(v, out var e164) && e164 == phone);
        }

        if (keys.Email is { } email)
        {
            Add("EMAIL", email, v => string.Equals(v.Trim(), email, StringComparison.OrdinalIgnoreCase));
        }

        return fields.Count > 0 ? fields : null;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Lead {LeadId} of {Account}: the create whose answer was lost had gone through (amoCRM lead {AmoLeadId}); not sent again")]
    private partial void LogFoundCreated(string account, long leadId, long amoLeadId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lead {LeadId} of {Account}: the linked contact is gone in amoCRM (merged or deleted); its contact is looked for again")]
    private partial void LogContactGone(string account, long leadId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Lead {LeadId} of {Account}: the cached contact is gone in amoCRM (404); searching instead")]
    private partial void LogCachedContactGone(string account, long leadId);
}
