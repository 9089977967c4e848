using System.Text.Json.Nodes;
using Gateway.Amo;
using Gateway.Outbox;

namespace Gateway.Leads;

// A stored payload becomes an unsorted-form item: validated again (the rules may have changed since it was stored),
// with the account's fields (and time zone) looked up only when some lead needs them. A field that cannot be made
// valid here goes into the lead's note: the lead itself is delivered.
internal sealed class UnsortedLeadComposer(LeadFieldLookup lookup, Contacts.LeadAssigner assigner) : ILeadComposer
{
    public async Task<ComposedLeads> ComposeAsync(string account, IReadOnlyList<ClaimedLead> leads, CancellationToken cancellationToken)
    {
        var requests = new List<(ClaimedLead Lead, UnsortedLeadRequest Request)>();
        var unreadable = new List<(ClaimedLead Lead, string Reason)>();
        foreach (var lead in leads)
        {
            if (lead.Unreadable is { } problem)
            {
                unreadable.Add((lead, problem));
                continue;
            }

            var errors = new Dictionary<string, string>();
            if (UnsortedLeadRequest.Parse(JsonNode.Parse(lead.Payload), errors) is { } request)
            {
                requests.Add((lead, request));
            }
            else
            {
                unreadable.Add((lead, string.Join("; ", errors.Values)));
            }
        }

        var readable = requests.Select(r => r.Lead).ToList();
        var fields = await lookup.ForAsync(account, requests.Select(r => r.Request).ToList(), AmoCallClass.Delivery, cancellationToken);
        if (fields.Failed is { } failed)
        {
            return new ComposedLeads(unreadable, readable, failed, []);
        }

        // The responsible user is picked (and stored) before the first send; a resend finds the stored pick.
        var assignment = await assigner.AssignAsync(account, requests, cancellationToken);
        if (assignment.Failure is { } lookupFailed)
        {
            return new ComposedLeads(unreadable, readable, lookupFailed, []);
        }

        var ready = requests.Select(r =>
        {
            var mapped = AmoLeadMapper.Map(r.Request, r.Lead.SourceUid, fields.Context, r.Lead.CreatedAt, r.Lead.CallerIp);
            if (assignment.Assigned.GetValueOrDefault(r.Lead.Id) is { } responsible && mapped.Item["_embedded"]?["leads"]?[0] is JsonObject amoLead)
            {
                amoLead["responsible_user_id"] = responsible;
            }

            return new ComposedLead(r.Lead, mapped.Item, mapped.NoteText);
        }).ToList();
        return new ComposedLeads(unreadable, readable, null, ready);
    }
}
